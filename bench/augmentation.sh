#!/usr/bin/env bash
# Cache augmentation (arXiv 2412.17747) on the shipped multihop model, as the issue asks it measured:
#  1. perplexity of each of the next 8 tokens after an augmentation point on held-out traces (the
#     evaluation world's gold traces, kept out of training), with and without augmentation, for every
#     trained coprocessor given (one per latent count), and a plot of it;
#  2. the multihop suite's unseen split (on the f16 decoder the coprocessor is for): no logs, augmentation
#     alone (latents after every step's prompt, or after the question only), LAG alone (KV logs, last
#     response), LAG with augmented logs, and both;
#  3. the time one augmentation takes in lagvk (`lagvk run --coprocessor`), per latent count.
# Results in bench/results/augmentation-*.json and augmentation-perplexity.png.
#   usage: bench/augmentation.sh WEIGHTS_DIR:COPROCESSOR.gguf [...]   (the first one runs the suite)
#   where WEIGHTS_DIR is what tools/train/coprocessor.py train wrote and COPROCESSOR.gguf the file made from it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n 2,11p "$0"; exit 2; }
lagvk=${LAGVK:-$root/build/bin/lagvk}
py=/usr/bin/python3
decoder=$root/assets/models/multihop-f16.gguf
out=$root/bench/results
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
"$lagvk" tokenize -m "$decoder" --traces "$root/assets/multihop/seen-gold-traces.jsonl" >"$tmp/held-out.jsonl"

ppl=()
for pair in "$@"; do
  weights=${pair%%:*}
  copro=${pair#*:}
  n=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["coprocessor"]["latents"])' "$weights/weights.json")
  echo "== $n latents: perplexity on held-out traces (PyTorch), export check and time per augmentation (lagvk)" >&2
  $py "$root/tools/train/coprocessor.py" eval --decoder "$decoder" --weights "$weights" --tokens "$tmp/held-out.jsonl" \
    --json "$out/augmentation-perplexity-$n.json"
  $py "$root/tools/train/check_coprocessor.py" --decoder "$decoder" --weights "$weights" --coprocessor "$copro" \
    --tokens "$tmp/held-out.jsonl" --lagvk "$lagvk" --traces 8 --json "$out/augmentation-check-$n.json"
  ppl+=("$out/augmentation-perplexity-$n.json")
done
$py "$root/tools/train/plot.py" perplexity "$out/augmentation-perplexity.png" "${ppl[@]}"

copro=${1#*:}
echo "== multihop suite, unseen split, with $copro" >&2
"$lagvk" eval -m "$decoder" --split unseen --modes none,kv-last --json --details >"$out/augmentation-suite-plain.json"
"$lagvk" eval -m "$decoder" --split unseen --modes none,kv-last --coprocessor "$copro" --augment-at each-step \
  --json --details >"$out/augmentation-suite-each-step.json"
"$lagvk" eval -m "$decoder" --split unseen --modes kv-last --coprocessor "$copro" --augment-logs \
  --json --details >"$out/augmentation-suite-logs.json"
"$lagvk" eval -m "$decoder" --split unseen --modes kv-last --coprocessor "$copro" --augment-logs \
  --augment-at each-step --json --details >"$out/augmentation-suite-both.json"
"$lagvk" eval -m "$decoder" --split unseen --modes none --coprocessor "$copro" --augment-at prompt \
  --json --details >"$out/augmentation-suite-prompt.json"
$py - "$out" <<'PY'
import json, sys
out = sys.argv[1]
runs = [("plain", "none", "no logs, no augmentation"), ("plain", "kv-last", "LAG (KV logs, last response)"),
        ("prompt", "none", "augmentation after the question only, no logs"),
        ("each-step", "none", "augmentation at every step, no logs"),
        ("each-step", "kv-last", "augmentation at every step + LAG"),
        ("logs", "kv-last", "LAG with augmented logs"),
        ("both", "kv-last", "augmented logs + augmentation at every step")]
print("| unseen split | EM % | steps | latents per question | seconds |")
print("| --- | --- | --- | --- | --- |")
for run, mode, label in runs:
    j = json.load(open(f"{out}/augmentation-suite-{run}.json"))
    r = next(r for r in j["rows"] if r["mode"] == mode)
    print(f"| {label} | {r['exact_match']:.1f} | {r['mean_steps']:.2f} | {r['mean_latents']:.1f} | {r['seconds']:.0f} |")
PY
