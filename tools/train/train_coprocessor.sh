#!/usr/bin/env bash
# Trains the cache-augmentation coprocessor of the shipped multihop model (arXiv 2412.17747: decoder frozen,
# loss on the tokens after the latents) and writes assets/models/multihop-coprocessor-N.gguf, then measures
# the perplexity of the next tokens with and without augmentation on the evaluation world's traces (kept
# out of training) and checks lagvk against PyTorch on them. Two runs: MINUTES at peak lr 1e-3 (soft tokens
# 1e-2) from the decoder's weights, then MORE minutes from there at 5e-4 (5e-3); each a cosine schedule on
# the wall clock, so on a busy machine fewer steps fit (the logs record them).
#   usage: tools/train/train_coprocessor.sh [LATENTS [MINUTES [MORE]]]  (defaults 16 35 45; extra
#          coprocessor.py train options for both runs in LAGVK_COPROCESSOR_TRAIN_ARGS)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
latents=${1:-16}
minutes=${2:-35}
more=${3:-45}
out=${LAGVK_TRAIN_DIR:-$root/build/train}/coprocessor-$latents
py=/usr/bin/python3  # Debian's python, where python3-torch lives
"$root/tools/train/setup.sh"
[ -x "$root/build/bin/lagvk" ] || "$root/scripts/build.sh"
lagvk=$root/build/bin/lagvk
decoder=$root/assets/models/multihop-f16.gguf
mkdir -p "$out"

# The model's training corpus (the same worlds, none of them the evaluation world), rendered and tokenized by
# lagvk with the decoder's own vocabulary; the evaluation world's gold traces are the held-out set.
$py "$root/tools/train/make_data.py" corpus "$out/corpus" >/dev/null
"$lagvk" tokenize -m "$decoder" --traces "$out/corpus/traces.jsonl" >"$out/tokens.jsonl"
"$lagvk" tokenize -m "$decoder" --traces "$root/assets/multihop/seen-gold-traces.jsonl" >"$out/held-out.jsonl"

# shellcheck disable=SC2086
$py "$root/tools/train/coprocessor.py" train --decoder "$decoder" --tokens "$out/tokens.jsonl" --out "$out/run1" \
  --latents "$latents" --minutes "$minutes" --steps 100000 --seed 1 --threads 1 --lr 1e-3 --soft-lr 1e-2 \
  ${LAGVK_COPROCESSOR_TRAIN_ARGS:-}
# shellcheck disable=SC2086
$py "$root/tools/train/coprocessor.py" train --decoder "$decoder" --tokens "$out/tokens.jsonl" --out "$out/weights" \
  --resume "$out/run1" --minutes "$more" --steps 100000 --seed 2 --threads 1 --lr 5e-4 --soft-lr 5e-3 \
  ${LAGVK_COPROCESSOR_TRAIN_ARGS:-}
"$lagvk" coprocessor make -m "$decoder" --weights "$out/weights" -o "$root/assets/models/multihop-coprocessor-$latents.gguf"
$py "$root/tools/train/coprocessor.py" eval --decoder "$decoder" --weights "$out/weights" --tokens "$out/held-out.jsonl" \
  --json "$out/perplexity.json"
# lagvk must compute what PyTorch trained: greedy tokens after the latents, both ways, on held-out prompts.
$py "$root/tools/train/check_coprocessor.py" --decoder "$decoder" --weights "$out/weights" \
  --coprocessor "$root/assets/models/multihop-coprocessor-$latents.gguf" --tokens "$out/held-out.jsonl" --lagvk "$lagvk"
echo "done: assets/models/multihop-coprocessor-$latents.gguf; perplexity by offset in $out/perplexity.json"
