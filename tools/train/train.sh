#!/usr/bin/env bash
# Reproduces the shipped multihop model (assets/models/multihop-{f16,q8_0}.gguf) from nothing:
# evaluation set, training corpus, vocabulary, tokenization (by lagvk itself), training, export with
# lagvk's GGUF writer, an export check against PyTorch, and the loss curve. About 70 minutes on 2 cores.
#   usage: tools/train/train.sh [extra train.py options for both runs, e.g. --threads 4]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${LAGVK_TRAIN_DIR:-$root/build/train}
py=/usr/bin/python3  # Debian's python, where python3-torch lives
"$root/tools/train/setup.sh"
[ -x "$root/build/bin/lagvk" ] || "$root/scripts/build.sh"
lagvk=$root/build/bin/lagvk
mkdir -p "$out" "$root/assets/models"

$py "$root/tools/train/make_data.py" eval "$root/assets/multihop"
$py "$root/tools/train/make_data.py" corpus "$out"
# A throwaway model that carries the vocabulary: lagvk renders and tokenizes every trace with it, so the
# model trains on exactly the tokens lagvk's agent will give it.
"$lagvk" make-model --words "$out/words.txt" --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 64 \
  -o "$out/tokenizer.gguf" >/dev/null
"$lagvk" tokenize -m "$out/tokenizer.gguf" --traces "$out/traces.jsonl" >"$out/tokens.jsonl"
newline=$("$lagvk" tokenize -m "$out/tokenizer.gguf" --json "$(printf 'x\ny')" | $py -c 'import json,sys; print(json.load(sys.stdin)[1])')
n_vocab=$("$lagvk" model-info -m "$out/tokenizer.gguf" --json | $py -c 'import json,sys; print(json.load(sys.stdin)["hparams"]["vocab_size"])')

# Two runs, both on the samples with at most one earlier task (as lagvk eval and the demo retrieve: one
# log per task; the samples with more make a step nearly twice as slow). 1: 28 minutes of cosine schedule
# at peak lr 3e-3 (or 1,500 steps). 2: 27 minutes more from those weights at peak lr 1e-3, with KV-last
# three times as often as each other way of reading logs, and the samples whose log names the next link's
# subject under another relation taken 6 times (at the task's first link) or 3 times (after links the log
# resolves): there a log is misread, by copying the object of the subject's other fact. Run 2 also weighs
# the token after a relation (the link's object, or ` ?` where the context lacks it) 3 times (in run 1 that
# weight held back learning to copy at all). The schedule follows wall-clock progress when --minutes
# binds, so a rerun reproduces the recipe, not the exact bits.
names=$(cd "$root/tools/train" && $py -c 'import world; print(" ".join(world.RELATIONS))')
relations=$("$lagvk" tokenize -m "$out/tokenizer.gguf" --json "x $names" |
  $py -c 'import json,sys; print(",".join(map(str, json.load(sys.stdin)[1:])))')
train=("$py" "$root/tools/train/train.py" --data "$out" --newline "$newline" --n-vocab "$n_vocab")
"${train[@]}" --out "$out/weights-part1" --steps 1500 --minutes 28 --seed 1 --max-priors 1 "$@"
"${train[@]}" --out "$out/weights-part2" --init "$out/weights-part1" --steps 1400 --minutes 27 --lr 1e-3 --seed 2 \
  --max-priors 1 --modes none=1,kv_last=3,kv_all=1,text_last=1,text_full=1 --branch-repeats 6,3 \
  --decision-after "$relations" --decision-weight 3 "$@"
# 3: 700 more steps at peak lr 5e-4 with run 2's settings (order seed 3). With logs placed as the paper
# does ([logs][BOS + prompt]) two runs left the model reading logs worse than it reads without them
# (62% exact match with a KV log, 65% without, on the unseen split); the third run reads them better.
"${train[@]}" --out "$out/weights" --init "$out/weights-part2" --steps 700 --minutes 15 --lr 5e-4 --seed 3 \
  --max-priors 1 --modes none=1,kv_last=3,kv_all=1,text_last=1,text_full=1 --branch-repeats 6,3 \
  --decision-after "$relations" --decision-weight 3 "$@"

for type in f16 q8_0; do
  "$lagvk" make-model --weights "$out/weights" --words "$out/words.txt" --type "$type" \
    --name "lagvk-multihop-2.8M-$type" -o "$root/assets/models/multihop-$type.gguf"
done
$py "$root/tools/train/check_export.py" --weights "$out/weights" --gguf "$root/assets/models/multihop-f16.gguf" \
  --lagvk "$lagvk"
$py "$root/tools/train/plot.py" loss "$root/assets/models/multihop-loss.png" "$out/weights-part1/train_log.json" \
  "$out/weights-part2/train_log.json" "$out/weights/train_log.json"
$py - "$out" "$root/assets/models/multihop-train-log.json" <<'PY'  # both runs' logs beside the model card
import json, sys
out = sys.argv[1]
runs = [json.load(open(f"{out}/{d}/train_log.json")) for d in ("weights-part1", "weights-part2", "weights")]
for r in runs:  # paths relative to the training directory: the log says how, not where
    r["args"] = {k: v.replace(out + "/", "").replace(out, ".") for k, v in r["args"].items()}
json.dump({"description": "train.py's train_log.json of the three runs of tools/train/train.sh that made the shipped "
           "model (paths relative to the training directory)", "runs": runs}, open(sys.argv[2], "w"))
PY
echo "done: assets/models/multihop-f16.gguf and multihop-q8_0.gguf; evaluate with"
echo "  build/bin/lagvk eval -m assets/models/multihop-q8_0.gguf --split both"
