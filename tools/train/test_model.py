"""Checks the training model's batched attention (grouped-query heads in one matmul, LAG's spliced keys
appended as extra keys) against a plain per-token reference in float64, on odd lengths, padding, a GQA
ratio of 3 and earlier tasks with and without kept tokens.

  /usr/bin/python3 -m unittest tools/train/test_model.py
"""

from __future__ import annotations

import math
import sys
import unittest
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import TASK, Config, Model  # noqa: E402


def rotate(x: torch.Tensor, pos: int, base: float) -> torch.Tensor:
    """One head's vector rotated pairwise, (x[2i], x[2i+1]) by pos * base^(-2i/D)."""
    out = x.clone()
    d = x.shape[0]
    for i in range(d // 2):
        a = pos * base ** (-2 * i / d)
        out[2 * i] = x[2 * i] * math.cos(a) - x[2 * i + 1] * math.sin(a)
        out[2 * i + 1] = x[2 * i] * math.sin(a) + x[2 * i + 1] * math.cos(a)
    return out


def reference_logits(m: Model, tokens, pos_own, pos_spliced, seg, selected) -> torch.Tensor:
    """The model's definition, one query at a time: a token sees the earlier tokens of its own segment
    (keys at their own positions) and, if it is the task's, every kept token of an earlier task (keys at
    their spliced positions, values as computed)."""
    c = m.c
    hd = c.n_embd // c.n_head
    rep = c.n_head // c.n_head_kv
    w = {k: v.detach().double() for k, v in m.state_dict().items()}

    def norm(x, weight):
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + c.rms_eps) * weight

    B, T = tokens.shape
    out = torch.zeros(B, T, c.n_vocab, dtype=torch.float64)
    for b in range(B):
        x = w["embd.weight"][tokens[b]]
        for layer in range(c.n_layers):
            p = f"blocks.{layer}."
            h = norm(x, w[p + "attn_norm.weight"])
            q = (h @ w[p + "q.weight"].T).view(T, c.n_head, hd)
            k = (h @ w[p + "k.weight"].T).view(T, c.n_head_kv, hd)
            v = (h @ w[p + "v.weight"].T).view(T, c.n_head_kv, hd)
            att = torch.zeros(T, c.n_head, hd, dtype=torch.float64)
            for i in range(T):
                if seg[b, i] == -1:
                    continue
                for head in range(c.n_head):
                    kv = head // rep
                    qi = rotate(q[i, head], int(pos_own[b, i]), c.rope_freq_base)
                    scores, values = [], []
                    for j in range(T):
                        if seg[b, j] == seg[b, i] and j <= i:
                            key = rotate(k[j, kv], int(pos_own[b, j]), c.rope_freq_base)
                        elif seg[b, i] == TASK and seg[b, j] not in (TASK, -1) and selected[b, j]:
                            key = rotate(k[j, kv], int(pos_spliced[b, j]), c.rope_freq_base)
                        else:
                            continue
                        scores.append(float(qi @ key) / math.sqrt(hd))
                        values.append(v[j, kv])
                    prob = torch.softmax(torch.tensor(scores, dtype=torch.float64), 0)
                    att[i, head] = sum(pr * val for pr, val in zip(prob, values))
            x = x + att.view(T, -1) @ w[p + "o.weight"].T
            h = norm(x, w[p + "ffn_norm.weight"])
            gate = h @ w[p + "gate.weight"].T
            x = x + (torch.nn.functional.silu(gate) * (h @ w[p + "up.weight"].T)) @ w[p + "down.weight"].T
        out[b] = norm(x, w["norm.weight"]) @ w["embd.weight"].T
    return out


def sample_batch(gen: torch.Generator):
    """Three rows: a task alone with padding; two earlier tasks (one keeps 3 tokens, one none) then the
    task; one earlier task keeping every other token then a short task."""
    rows = [  # (segment, length, kept tokens) in order
        [(TASK, 7, [])],
        [(0, 5, [3, 4]), (1, 4, []), (TASK, 6, [])],
        [(0, 9, [1, 3, 5, 7]), (TASK, 3, [])],
    ]
    T = max(sum(n for _, n, _ in r) for r in rows)
    B = len(rows)
    tokens = torch.randint(0, 50, (B, T), generator=gen)
    pos_own = torch.zeros(B, T, dtype=torch.long)
    pos_spliced = torch.zeros(B, T, dtype=torch.long)
    seg = torch.full((B, T), -1, dtype=torch.long)
    selected = torch.zeros(B, T, dtype=torch.bool)
    for b, r in enumerate(rows):
        at, spliced = 0, 0
        for s, n, kept in r:
            seg[b, at:at + n] = s
            if s == TASK:
                pos_own[b, at:at + n] = torch.arange(spliced, spliced + n)
            else:
                pos_own[b, at:at + n] = torch.arange(n)
                for kk in kept:
                    selected[b, at + kk] = True
                    pos_spliced[b, at + kk] = spliced
                    spliced += 1
            at += n
    return tokens, pos_own, pos_spliced, seg, selected


def small_model(layers: int) -> Model:
    """GQA ratio 3, with weights large enough that attention is far from uniform."""
    torch.manual_seed(0)
    m = Model(Config(n_vocab=50, n_layers=layers, n_embd=24, n_head=6, n_head_kv=2, n_ff=40))
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return m


class AttentionMatchesReference(unittest.TestCase):
    def test_logits(self):
        m = small_model(2)
        batch = sample_batch(torch.Generator().manual_seed(1))
        got = m(*batch).detach().double()
        want = reference_logits(m, *batch)
        real = batch[3] != -1
        err = (got[real] - want[real]).abs().max().item()
        self.assertLess(err, 1e-4 * want[real].abs().max().item())

    def test_reference_sees_the_splice(self):
        """The check above can fail: moving one kept token's spliced position changes the task's logits."""
        m = small_model(1)
        tokens, pos_own, pos_spliced, seg, selected = sample_batch(torch.Generator().manual_seed(1))
        moved = pos_spliced.clone()
        moved[2, 1] += 5
        a = m(tokens, pos_own, pos_spliced, seg, selected)[2][seg[2] == TASK]
        b = m(tokens, pos_own, moved, seg, selected)[2][seg[2] == TASK]
        self.assertGreater((a - b).abs().max().item(), 1e-3)


if __name__ == "__main__":
    unittest.main()
