"""Which seen task's log retrieval brought to each unseen multihop question, and how many of the
question's links (from its start) that log resolves: the measure of what a store indexes (--index).

  bench/retrieval.py EVAL.json [EVAL.json ...]   (lagvk eval --json --details, a kv-* or text-* row)

Per file and row: questions whose retrieved log is the seen task they were made from (`shares_with` in
assets/multihop/questions.jsonl), and the questions by the links their first retrieved log resolves
(0: it shares words, not links: the agent is misled or must look everything up).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root / "tools" / "train"))
import world as W  # noqa: E402
from make_data import EVAL_SEED, chain_prefix  # noqa: E402


def main() -> None:
    questions = [json.loads(l) for l in open(root / "assets" / "multihop" / "questions.jsonl")]
    w = W.make_world(EVAL_SEED)
    seen_by_text = {q["question"]: q for q in questions if q["split"] == "seen"}
    by_id = {q["id"]: q for q in questions}

    def chain(q: dict) -> list:
        return W.Question(q["start"], tuple(q["relations"])).chain(w)

    for path in sys.argv[1:]:
        j = json.load(open(path))
        for row in j["rows"]:
            if row["split"] != "unseen" or row["mode"] in ("none", "cache") or not row.get("details"):
                continue
            intended, groups, n = 0, {}, 0
            for d in row["details"]:
                q = by_id[d["id"]]
                n += 1
                first = seen_by_text.get(d["log_tasks"][0]) if d.get("log_tasks") else None
                if first and first["id"] == q["shares_with"]:
                    intended += 1
                links = chain_prefix(chain(q), set(chain(first))) if first else 0
                groups[links] = groups.get(links, 0) + 1
            spread = ", ".join(f"{k} links: {groups[k]}" for k in sorted(groups))
            print(f"{path} [{row['mode']}, index {j.get('index', 'task')}]: {n} questions; intended log first "
                  f"for {intended}; by links the first log resolves: {spread}")


if __name__ == "__main__":
    main()
