#!/usr/bin/env bash
# Installs what building lagvk needs (scripts/setup.sh --build-only: none of the tests' references), builds
# it and runs the main job on the shipped multihop model (assets/models/multihop-q8_0.gguf, trained by
# tools/train/train.sh): the Vulkan devices; then the agent runs a handful of tasks and keeps each finished
# task as a log; then it answers a new question that shares part of its chain with them, first without logs
# and then with LAG (the logs' KV spliced in front of the question), showing the answers, the logs used and
# the steps saved. (On the whole unseen split this model answers 68% exactly in 2.47 steps with LAG, 65% in
# 3.72 without; bench/RESULTS.md.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" --build-only  # the demo uses no npm package (the llama.cpp peer is for tests)
"$root/scripts/build.sh" "$root/build" >/dev/null
lagvk="$root/build/bin/lagvk"
model="$root/assets/models/multihop-q8_0.gguf"
kb="$root/assets/multihop/world.json"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== Vulkan devices"
"$lagvk" devices
echo
echo "== the model"
"$lagvk" model-info -m "$model" | head -n 6
echo
# Earlier tasks (from the suite's seen split) and a new one (its unseen split) that shares a sub-chain.
earlier=(
  "What is the employer of the director of Dorhal?"
  "What is the mayor of the capital of Limkin?"
  "What is the father of the founder of Fenvek?"
)
question="What is the headquarters of the employer of the director of Dorhal?"  # answer: Ullor
agent=(--agent --kb "$kb" --temp 0)  # retrieval: the shared defaults (one log per task; bench/RESULTS.md)
echo "== 1. the agent works on ${#earlier[@]} tasks; each finished task is kept as a log (its last response)"
# Without logs, as lagvk eval makes its logs: a task misled by a log could save a wrong fact as a new log.
for q in "${earlier[@]}"; do
  echo "-- task: $q"
  "$lagvk" ask -m "$model" --store "$work/logs" "${agent[@]}" --logs none --max-steps 8 --save "$q"
done
echo
echo "== 2. a new task without logs (step limit 4): $question"
"$lagvk" ask -m "$model" --store "$work/logs" "${agent[@]}" --logs none --max-steps 4 "$question"
echo
echo "== 3. the same task with LAG: the logs' KV pages are spliced in front of it"
"$lagvk" ask -m "$model" --store "$work/logs" "${agent[@]}" --logs kv --max-steps 4 "$question"
echo
echo "== the whole evaluation: build/bin/lagvk eval -m $model --split both   (see bench/RESULTS.md)"
