"""Writes the evaluation set and the training corpus of the multihop world.

  make_data.py eval OUTDIR     world.json (lookup-tool knowledge base) and questions.jsonl (seen/unseen)
  make_data.py corpus OUTDIR   traces.jsonl (unique agent traces), samples.jsonl (a task trace, the
                               earlier tasks in its context and how they are placed), words.txt (every
                               word, for the vocabulary)

Everything is deterministic: the same seeds give the same files.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import world as W  # noqa: E402

EVAL_SEED = 1000
TRAIN_SEED0 = 10000
# How the earlier tasks sit in a training sample's context: the modes `lagvk eval` compares.
CONTEXT_MODES = ["text_full", "text_last", "kv_last", "kv_all"]
CONTEXT_MODE_WEIGHTS = [1, 1, 2, 1]  # kv_last is LAG's default: twice as many samples read logs that way
PRIOR_COUNT_WEIGHTS = [0.2, 0.45, 0.15, 0.1, 0.1]  # how many earlier tasks precede a sample's task
# Texts the agent loop itself writes as observations (engine/lag/agent.cpp, engine/lag/tools.cpp).
AGENT_TEXTS = ["no action: write Action: lookup(relation, entity) or Answer: ...",
               "lookup needs two arguments: lookup(relation, entity)", "no fact", "unknown tool"]


def hops_choice(rng: random.Random, weights=(0.0, 0.35, 0.35, 0.3)) -> int:
    return rng.choices([1, 2, 3, 4], weights)[0]


def make_eval(out: Path, n_seen: int, n_unseen: int) -> None:
    w = W.make_world(EVAL_SEED)
    rng = random.Random(EVAL_SEED + 1)
    seen: list[W.Question] = []
    while len(seen) < n_seen:
        q = W.random_question(w, rng, hops_choice(rng))
        if q and q not in seen:
            seen.append(q)
    unseen: list[tuple[W.Question, int]] = []
    taken = set(seen)
    while len(unseen) < n_unseen:
        i = rng.randrange(len(seen))
        q = W.related_question(w, seen[i], rng)
        if q and len(q.relations) >= 2 and q not in taken:
            taken.add(q)
            unseen.append((q, i))
    out.mkdir(parents=True, exist_ok=True)
    (out / "world.json").write_text(json.dumps(w.kb_json(), indent=1) + "\n")
    with open(out / "questions.jsonl", "w") as f:
        for i, q in enumerate(seen):
            f.write(json.dumps({"id": f"seen-{i}", "split": "seen", "question": q.text(), "answer": q.answer(w),
                                "hops": len(q.relations), "start": q.start, "relations": list(q.relations)}) + "\n")
        for i, (q, s) in enumerate(unseen):
            shared = sum(1 for f in q.chain(w) if f in seen[s].chain(w))
            f.write(json.dumps({"id": f"unseen-{i}", "split": "unseen", "question": q.text(),
                                "answer": q.answer(w), "hops": len(q.relations), "start": q.start,
                                "relations": list(q.relations), "shares_with": f"seen-{s}",
                                "shared_hops": shared}) + "\n")
    with open(out / "seen-gold-traces.jsonl", "w") as f:  # the ideal agent's traces, for `lagvk log add`
        for q in seen:
            f.write(json.dumps(W.trace(w, q)) + "\n")
    print(f"wrote {out}/world.json ({len(w.facts)} facts) and questions.jsonl ({n_seen} seen, {n_unseen} unseen)")


def make_corpus(out: Path, worlds: int, per_world: int) -> None:
    traces: list[dict] = []
    index: dict[str, int] = {}

    def add(t: dict) -> int:
        key = json.dumps(t, sort_keys=True)
        if key not in index:
            index[key] = len(traces)
            traces.append(t)
        return index[key]

    samples = []
    for k in range(worlds):
        w = W.make_world(TRAIN_SEED0 + k)
        rng = random.Random(TRAIN_SEED0 + k)
        for _ in range(per_world):
            q = W.random_question(w, rng, hops_choice(rng, (0.1, 0.3, 0.3, 0.3)))
            if q is None:
                continue
            # Mostly one earlier task, the way `lagvk eval` and the demo retrieve logs (-k 1), and
            # mostly related ones, whose shared prefix the task must read and whose other links it must not.
            n = rng.choices([0, 1, 2, 3, 4], PRIOR_COUNT_WEIGHTS)[0]
            priors: list[W.Question] = []
            for _ in range(n):
                r = rng.random()
                p = q if r < 0.05 else (W.related_question(w, q, rng) if r < 0.75
                                        else W.random_question(w, rng, hops_choice(rng, (0.1, 0.3, 0.3, 0.3))))
                if p is not None:
                    priors.append(p)
            known: dict = {}
            for p in priors:
                known.update(W.chain_facts(w, p))
            samples.append({"task": add(W.trace(w, q, known)), "priors": [add(W.trace(w, p)) for p in priors],
                            "mode": rng.choices(CONTEXT_MODES, CONTEXT_MODE_WEIGHTS)[0] if priors else "none"})
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "traces.jsonl", "w") as f:
        for t in traces:
            f.write(json.dumps(t) + "\n")
    with open(out / "samples.jsonl", "w") as f:
        for s in samples:
            f.write(json.dumps(s) + "\n")
    # Words of the templates (names excluded: they are spelled with their syllables), then the syllables
    # as they occur: a first syllable after a space or after "(", a second syllable inside the name.
    names = set(W.name_pool())
    words = set()
    texts = [" " + m["content"] for t in traces for m in t["messages"]] + [" " + x for x in AGENT_TEXTS]
    texts += ["User:", "Assistant:", "Tool:", "System:"]
    for text in texts:
        for u in re.findall(r" ?[A-Za-z0-9_]+", text):
            if len(u) > 1 and u.strip() not in names:
                words.add(u)
    words.add(" " + W.UNKNOWN)  # one token: the agent decides between it and a name's first syllable
    for syl in W.FIRST_SYLLABLES:
        words.update({" " + syl, syl})
    words.update(W.SECOND_SYLLABLES)
    (out / "words.txt").write_text("".join(sorted(x.replace(" ", "\u2581") + "\n" for x in words)))
    print(f"wrote {out}: {len(samples)} samples, {len(traces)} traces, {len(words)} words")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["eval", "corpus"])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seen", type=int, default=100)
    ap.add_argument("--unseen", type=int, default=100)
    ap.add_argument("--worlds", type=int, default=300)
    ap.add_argument("--per-world", type=int, default=120)
    a = ap.parse_args()
    if a.what == "eval":
        make_eval(a.out, a.seen, a.unseen)
    else:
        make_corpus(a.out, a.worlds, a.per_world)


if __name__ == "__main__":
    main()
