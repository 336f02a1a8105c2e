"""Checks train.py's loss weights on a hand-made trace: the assistant turns and their ending newlines
are targets, the prompt and the tool's answer are not, and --decision-weight multiplies exactly the
tokens that follow a relation in a target turn (the link's object or ` ?`). Also make_data.py's branch
points and train.py's --branch-repeats.

  /usr/bin/python3 -m unittest tools/train/test_corpus.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_data import branch_point  # noqa: E402
from train import Corpus  # noqa: E402

NL = 13
REL = 50  # a relation's token
Q = 51  # ` ?`
# BOS, a prompt that names the relation (not a target), an assistant turn `A rel ? act` and its newline,
# the tool's `A rel B` (not a target), an assistant turn `A rel B ans B` and its newline.
TOKENS = [1, 20, REL, 21, NL, 30, REL, Q, 40, NL, 30, REL, 31, NL, 30, REL, 31, 41, 31]
ASSISTANT = [5, 6, 7, 8, 9, 14, 15, 16, 17, 18]  # indices the `all` selection keeps


def corpus(d: str, samples: list[dict], **kw) -> Corpus:
    Path(d, "tokens.jsonl").write_text(json.dumps({"tokens": TOKENS, "last": ASSISTANT[5:], "all": ASSISTANT}) + "\n")
    Path(d, "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    return Corpus(Path(d), NL, 640, **kw)


def weights(decision_weight: float, first_turn_weight: float = 1.0, after_logs: bool = False) -> list[float]:
    with tempfile.TemporaryDirectory() as d:
        c = corpus(d, [{"task": 0, "priors": [], "mode": "none"}], first_turn_weight=first_turn_weight,
                   decision_after=frozenset([REL]), decision_weight=decision_weight)
        return c._trace(0, after_logs)[1]


class DecisionWeight(unittest.TestCase):
    def test_targets_without_weighting(self):
        w = weights(1.0)
        self.assertEqual([i for i, x in enumerate(w) if x], sorted(ASSISTANT + [10, 19]))  # and the turns' newlines
        self.assertTrue(all(x == 1.0 for x in w if x))

    def test_weights_the_token_after_each_relation_in_a_target_turn(self):
        w = weights(3.0)
        self.assertEqual({i: x for i, x in enumerate(w) if x != 1.0 and x}, {7: 3.0, 16: 3.0})
        self.assertEqual(w[3], 0.0)  # after the prompt's relation: not a target, stays 0
        self.assertEqual(w[12], 0.0)  # the tool's answer: not a target
        self.assertEqual(len(w), len(TOKENS) + 1)  # the final answer's newline is appended

    def test_composes_with_the_first_turn_weight(self):
        w = weights(3.0, first_turn_weight=2.0, after_logs=True)
        self.assertEqual(w[7], 6.0)
        self.assertEqual(w[8], 2.0)
        self.assertEqual(w[16], 3.0)


class Layout(unittest.TestCase):
    def test_a_task_after_logs_keeps_its_bos(self):
        # The paper's layout, as lagvk's context builder places a prompt: [logs][BOS + prompt].
        with tempfile.TemporaryDirectory() as d:
            c = corpus(d, [{"task": 0, "priors": [0], "mode": "text_last"}])
            toks = c.build(c.samples[0])[0]
            self.assertEqual(toks[:len(ASSISTANT[5:])], [TOKENS[i] for i in ASSISTANT[5:]])
            self.assertEqual(toks[len(ASSISTANT[5:]):][:len(TOKENS)], TOKENS)


class Branches(unittest.TestCase):
    CHAIN = [("Ann", "father", "Bob"), ("Bob", "employer", "Cog")]

    def test_branch_points(self):
        self.assertEqual(branch_point(self.CHAIN, {("Ann", "spouse", "Dan")}), "start")
        self.assertEqual(branch_point(self.CHAIN, {("Ann", "father", "Bob"), ("Bob", "spouse", "Eve")}), "later")
        self.assertIsNone(branch_point(self.CHAIN, set(self.CHAIN)))  # the log resolves every link
        self.assertIsNone(branch_point(self.CHAIN, {("Dan", "father", "Bob")}))  # the relation, not the subject
        self.assertIsNone(branch_point(self.CHAIN, {("Bob", "spouse", "Eve")}))  # after an unresolved link
        self.assertIsNone(branch_point(self.CHAIN, set()))

    def test_repeats_branch_samples_in_place(self):
        samples = [{"task": 0, "priors": [0], "mode": "kv_last", "branch": "start"},
                   {"task": 0, "priors": [], "mode": "none"},
                   {"task": 0, "priors": [0], "mode": "kv_last", "branch": "later"}]
        with tempfile.TemporaryDirectory() as d:
            got = [s.get("branch") for s in corpus(d, samples, branch_repeats={"start": 3, "later": 2}).samples]
            self.assertEqual(got, ["start"] * 3 + [None] + ["later"] * 2)
            self.assertEqual(len(corpus(d, samples).samples), 3)


if __name__ == "__main__":
    unittest.main()
