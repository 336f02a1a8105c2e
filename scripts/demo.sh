#!/usr/bin/env bash
# Installs everything, builds lagvk and runs the main job: the Vulkan devices, then a small
# Log-Augmented Generation round trip on a random demo model (a trained model comes later): logs are
# stored from demo traces and a question is answered with and without them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$root/build" >/dev/null
lagvk="$root/build/bin/lagvk"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== Vulkan devices"
"$lagvk" devices
echo
echo "== a random demo model (weights are random: its text is gibberish, the mechanics are real)"
"$lagvk" make-model --type q8_0 --layers 4 --dim 256 --vocab 1024 -o "$work/demo.gguf"
echo
echo "== store finished tasks as logs"
"$lagvk" log add --store "$work/logs" -m "$work/demo.gguf" --trace "$root/assets/traces/demo.jsonl"
echo
question="where was the director of the glass harbor born"
for mode in none kv text; do
  echo "== ask with --logs $mode: $question"
  "$lagvk" ask -m "$work/demo.gguf" --store "$work/logs" --logs "$mode" -k 2 -n 16 "$question"
  echo
done
