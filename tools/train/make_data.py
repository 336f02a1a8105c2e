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
import math
import random
import re
import sys
from collections.abc import Container
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import world as W  # noqa: E402

EVAL_SEED = 1000
TRAIN_SEED0 = 10000
# How the earlier tasks sit in a training sample's context: the modes `lagvk eval` compares.
CONTEXT_MODES = ["text_full", "text_last", "kv_last", "kv_all"]
CONTEXT_MODE_WEIGHTS = [1, 1, 2, 1]  # kv_last is LAG's default: twice as many samples read logs that way
PRIOR_COUNT_WEIGHTS = [0.2, 0.45, 0.15, 0.1, 0.1]  # how many earlier tasks precede a sample's task
STORE_SIZE = 100  # tasks in a training world's store with --retrieved (the evaluation's seen split: 100)
STORE_TASK_SHARE = 0.3  # with --retrieved: tasks grown from a stored task, as the unseen split's are
# Texts the agent loop itself writes as observations (engine/lag/agent.cpp, engine/lag/tools.cpp).
AGENT_TEXTS = ["no action: write Action: lookup(relation, entity) or Answer: ...",
               "lookup needs two arguments: lookup(relation, entity)", "no fact", "unknown tool"]


def hops_choice(rng: random.Random, weights=(0.0, 0.35, 0.35, 0.3)) -> int:
    return rng.choices([1, 2, 3, 4], weights)[0]


class Bm25:
    """lagvk's lexical retrieval (logstore/bm25.cpp): the same terms, weights and tie order, so that the
    corpus can put in front of a task the log `lagvk eval` would retrieve for it."""

    def __init__(self, docs: list[str]):
        self.tf = []
        self.df: dict[str, int] = {}
        for d in docs:
            tf: dict[str, int] = {}
            for t in self.terms(d):
                tf[t] = tf.get(t, 0) + 1
            for t in tf:
                self.df[t] = self.df.get(t, 0) + 1
            self.tf.append(tf)
        self.length = [sum(tf.values()) for tf in self.tf]
        self.average = sum(self.length) / len(docs) if docs else 0.0

    @staticmethod
    def terms(text: str) -> list[str]:
        return [t.lower() for t in re.findall(r"[A-Za-z0-9]+", text)]

    def top(self, query: str, exclude: Container[int] = ()) -> int | None:
        """Index of the best document (the lowest index among equals), None when none shares a term."""
        k1, b, n = 1.2, 0.75, len(self.tf)
        scores = [0.0] * n
        for t in sorted(set(self.terms(query))):  # as the C++ std::set: the same sum, rounding included
            if t not in self.df:
                continue
            idf = math.log(1.0 + (n - self.df[t] + 0.5) / (self.df[t] + 0.5))
            for d, tf in enumerate(self.tf):
                if t in tf:
                    f = tf[t]
                    scores[d] += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * self.length[d] / max(self.average, 1e-9)))
        return max((d for d in range(n) if scores[d] > 0 and d not in exclude), key=lambda d: (scores[d], -d),
                   default=None)


def seen_questions(w: W.World, rng: random.Random, n: int) -> list[W.Question]:
    """A store's worth of distinct tasks, drawn as the evaluation's seen split is."""
    seen: list[W.Question] = []
    while len(seen) < n:
        q = W.random_question(w, rng, hops_choice(rng))
        if q and q not in seen:
            seen.append(q)
    return seen


def chain_prefix(chain: list, known: set) -> int:
    """How many links of a chain, from its start, are in `known`."""
    n = 0
    while n < len(chain) and chain[n] in known:
        n += 1
    return n


def branch_point(chain: list, earlier: set) -> str | None:
    """Where a task's next link after the facts its earlier tasks resolve (`earlier`, triples) has a subject
    those tasks name under another relation: "start" at its first link, "later" after a resolved prefix;
    None when not. There a log is misread by copying the object of the right subject's other fact, so
    train.py can repeat such samples (--branch-repeats)."""
    n = chain_prefix(chain, earlier)
    if n == len(chain):
        return None
    subject, relation, _ = chain[n]
    if not any(s == subject and r != relation for s, r, _ in earlier):
        return None
    return "later" if n else "start"


def make_eval(out: Path, n_seen: int, n_unseen: int) -> None:
    w = W.make_world(EVAL_SEED)
    rng = random.Random(EVAL_SEED + 1)
    seen = seen_questions(w, rng, n_seen)
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
        retriever = Bm25([q.text() for q in seen])
        for i, (q, s) in enumerate(unseen):
            shared = sum(1 for f in q.chain(w) if f in seen[s].chain(w))
            # The seen task whose log lagvk eval retrieves for q (BM25 on the questions, -k 1), and how many of
            # q's links from its start that log resolves: the ones LAG can skip.
            r = retriever.top(q.text())
            known = chain_prefix(q.chain(w), set(seen[r].chain(w))) if r is not None else 0
            f.write(json.dumps({"id": f"unseen-{i}", "split": "unseen", "question": q.text(),
                                "answer": q.answer(w), "hops": len(q.relations), "start": q.start,
                                "relations": list(q.relations), "shares_with": f"seen-{s}",
                                "shared_hops": shared, "retrieved": None if r is None else f"seen-{r}",
                                "retrieved_prefix": known}) + "\n")
    with open(out / "seen-gold-traces.jsonl", "w") as f:  # the ideal agent's traces, for `lagvk log add`
        for q in seen:
            f.write(json.dumps(W.trace(w, q)) + "\n")
    print(f"wrote {out}/world.json ({len(w.facts)} facts) and questions.jsonl ({n_seen} seen, {n_unseen} unseen)")


def make_corpus(out: Path, worlds: int, per_world: int, retrieved: float = 0.0) -> None:
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
        # With --retrieved, the world gets a store as in `lagvk eval` (tasks drawn like the seen split) and
        # that share of earlier tasks is the one BM25 over the stored questions picks for the task. Such a
        # log often shares words but not links with the task ("the headquarters of the employer of the
        # father of X" for "the mayor of the headquarters of the employer of X"): the links must be looked
        # up, not copied. Without it (the shipped model's corpus) no store is drawn and the rest is as before.
        store = seen_questions(w, rng, STORE_SIZE) if retrieved else []
        retriever = Bm25([p.text() for p in store])
        for _ in range(per_world):
            if store and rng.random() < STORE_TASK_SHARE:  # grown from a stored task, as the unseen split
                q = W.related_question(w, rng.choice(store), rng)
                if q is not None and len(q.relations) < 2:
                    q = None
            else:
                q = W.random_question(w, rng, hops_choice(rng, (0.1, 0.3, 0.3, 0.3)))
            if q is None:
                continue
            # Mostly one earlier task, the way `lagvk eval` and the demo retrieve logs (-k 1): the log BM25
            # retrieves from the store (--retrieved), a related task (whose shared prefix the task must read
            # and whose other links it must not), the same question, or a random one.
            n = rng.choices([0, 1, 2, 3, 4], PRIOR_COUNT_WEIGHTS)[0]
            priors: list[W.Question] = []
            taken: set[int] = set()
            for _ in range(n):
                r = rng.random()
                if r < 0.05:
                    p = q
                elif r < 0.05 + retrieved:
                    best = retriever.top(q.text(), taken)
                    p = None if best is None else store[best]
                    taken.add(best)
                elif r < 0.75:
                    p = W.related_question(w, q, rng)
                else:
                    p = W.random_question(w, rng, hops_choice(rng, (0.1, 0.3, 0.3, 0.3)))
                if p is not None:
                    priors.append(p)
            known: dict = {}
            for p in priors:
                known.update(W.chain_facts(w, p))
            sample = {"task": add(W.trace(w, q, known)), "priors": [add(W.trace(w, p)) for p in priors],
                      "mode": rng.choices(CONTEXT_MODES, CONTEXT_MODE_WEIGHTS)[0] if priors else "none"}
            branch = branch_point(q.chain(w), {(s, r, o) for (s, r), o in known.items()})
            if branch:
                sample["branch"] = branch
            samples.append(sample)
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
    ap.add_argument("--retrieved", type=float, default=0.0, help="corpus: share of earlier tasks that are the log "
                    "lagvk's BM25 retrieves from a store of the world's tasks (tried in session 8: see README)")
    a = ap.parse_args()
    if a.what == "eval":
        make_eval(a.out, a.seen, a.unseen)
    else:
        make_corpus(a.out, a.worlds, a.per_world, a.retrieved)


if __name__ == "__main__":
    main()
