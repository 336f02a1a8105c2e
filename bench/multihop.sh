#!/usr/bin/env bash
# The LAG paper's main table on lagvk's multihop suite with the shipped model: every mode on the unseen
# and the seen split, JSON in bench/results/multihop-<model>.json and a plot beside it.
#   usage: bench/multihop.sh [MODEL.gguf] [extra lagvk eval options]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/assets/models/multihop-q8_0.gguf}
shift || true
name=$(basename "$model" .gguf)
out="$root/bench/results/$name"
mkdir -p "$root/bench/results"
"$root/build/bin/lagvk" eval -m "$model" --split both --json --details "$@" >"$out.json"
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  /usr/bin/python3 "$root/tools/train/plot.py" eval "$out.json" "$out.png"
fi
/usr/bin/python3 - "$out.json" "$root/assets/multihop/questions.jsonl" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"logs: {j['logs']['tasks']} seen tasks, {j['logs']['answered']} answered, {j['logs']['correct']} correct")
print("| split | mode | EM % | steps | logs per task |")
print("| --- | --- | --- | --- | --- |")
for r in j["rows"]:
    print(f"| {r['split']} | {r['mode']} | {r['exact_match']:.1f} | {r['mean_steps']:.2f} | {r['mean_logs']:.2f} |")
# Unseen questions by how many of their links (from the start) the retrieved log resolves (make_data.py
# records it): 0 means the log shares words, not links, and the agent must look everything up.
known = {q["id"]: q.get("retrieved_prefix") for q in map(json.loads, open(sys.argv[2])) if q["split"] == "unseen"}
rows = [r for r in j["rows"] if r["split"] == "unseen" and r.get("details")]
if rows and all(v is not None for v in known.values()):
    groups = sorted(set(known.values()))
    print("\nunseen questions answered right, by how many links the retrieved log resolves:")
    print("| mode | " + " | ".join(f"{g} link{'s' if g != 1 else ''}" for g in groups) + " |")
    print("| --- |" + " --- |" * len(groups))
    for r in rows:
        cells = []
        for g in groups:
            ds = [d for d in r["details"] if known.get(d["id"]) == g]
            cells.append(f"{sum(d['correct'] for d in ds)}/{len(ds)}")
        print(f"| {r['mode']} | " + " | ".join(cells) + " |")
PY
