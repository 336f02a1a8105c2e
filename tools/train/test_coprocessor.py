"""Checks coprocessor.py's forward pass with a KV cache (the one its training uses) against the training
model's own forward (model.Model) on a small random model: a prefix then the rest with the prefix's cache
gives the same logits as the whole sequence at once; the no-augmentation losses are the whole sequence's
cross-entropies; and a coprocessor's latents reach the loss (its gradients are not zero) while the frozen
decoder gets none. Also reads the shipped F16 model through gguf_read.

  /usr/bin/python3 -m unittest tools/train/test_coprocessor.py
"""

from __future__ import annotations

import copy
import sys
import unittest
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from coprocessor import ahead_losses, load_decoder, run  # noqa: E402
from model import TASK, Config, Model  # noqa: E402


def small_model(seed: int) -> Model:
    torch.manual_seed(seed)
    m = Model(Config(n_vocab=53, n_layers=2, n_embd=48, n_head=6, n_head_kv=2, n_ff=72))
    with torch.no_grad():  # larger than the training init, so that attention is far from uniform
        for p in m.parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.3)
    return m.eval()


def whole_logits(m: Model, toks: torch.Tensor) -> torch.Tensor:
    T = len(toks)
    t = toks[None]
    pos = torch.arange(T)[None]
    seg = torch.full_like(t, TASK)
    return m(t, pos, pos, seg, torch.zeros_like(t, dtype=torch.bool))[0]


class CoprocessorForward(unittest.TestCase):
    def test_cached_prefix_matches_the_whole_sequence(self):
        m = small_model(1)
        toks = torch.randint(0, 53, (23,), generator=torch.Generator().manual_seed(2))
        want = whole_logits(m, toks)
        with torch.no_grad():
            h1, past = run(m, m.embd(toks[:9])[None], 0)
            h2, _ = run(m, m.embd(toks[9:])[None], 9, past)
            got = torch.cat([h1, h2], 1)[0] @ m.embd.weight.T
        self.assertLess(float((got - want).abs().max()), 1e-4)

    def test_losses_without_augmentation_are_the_sequences_own(self):
        m = small_model(3)
        toks = torch.randint(0, 53, (30,), generator=torch.Generator().manual_seed(4))
        logits = whole_logits(m, toks)
        for t, ahead in ((5, 8), (25, 8), (12, 1)):
            with torch.no_grad():
                got, mask = ahead_losses(m, None, None, [(toks, t)], ahead)
            n = min(ahead, len(toks) - t)
            want = F.cross_entropy(logits[t - 1:t - 1 + n], toks[t:t + n], reduction="none")
            self.assertEqual(int(mask.sum()), n)
            self.assertLess(float((got[0, :n] - want).abs().max()), 1e-4, f"t={t}")

    def test_a_batch_of_points_gives_each_points_own_losses(self):
        # Prefixes of different lengths are padded on the right and the latents sit at each row's own
        # positions: no row may see another's padding, or the rest of its trace after its point.
        decoder = small_model(7)
        copro = small_model(8)
        soft = torch.randn(3, 48, generator=torch.Generator().manual_seed(9))
        g = torch.Generator().manual_seed(10)
        points = [(torch.randint(0, 53, (n,), generator=g), t) for n, t in ((30, 5), (12, 9), (40, 33), (7, 6))]
        points += [(points[2][0], 4), (points[0][0], 29)]  # more points of the same traces share their pass
        for c, s in ((None, None), (copro, soft)):
            with torch.no_grad():
                batch, mask = ahead_losses(decoder, c, s, points, 8)
                for i, point in enumerate(points):
                    one, one_mask = ahead_losses(decoder, c, s, [point], 8)
                    self.assertTrue(torch.equal(mask[i], one_mask[0]))
                    self.assertLess(float((batch[i] - one[0]).abs().max()), 1e-4, f"point {i}")

    def test_the_coprocessor_gets_gradients_and_the_decoder_none(self):
        decoder = small_model(5)
        for p in decoder.parameters():
            p.requires_grad_(False)
        copro = copy.deepcopy(decoder)
        for p in copro.parameters():
            p.requires_grad_(True)
        soft = torch.randn(4, 48, requires_grad=True)
        toks = torch.randint(0, 53, (20,), generator=torch.Generator().manual_seed(6))
        ahead_losses(decoder, copro, soft, [(toks, 10)], 6)[0].sum().backward()
        self.assertGreater(float(soft.grad.abs().sum()), 0)
        self.assertGreater(float(copro.blocks[0].q.weight.grad.abs().sum()), 0)
        self.assertTrue(all(p.grad is None for p in decoder.parameters()))

    def test_the_shipped_model_loads_from_its_gguf(self):
        m = load_decoder(HERE.parent.parent / "assets/models/multihop-f16.gguf")
        self.assertEqual((m.c.n_layers, m.c.n_embd, m.c.n_head, m.c.n_head_kv, m.c.n_ff), (4, 256, 8, 2, 640))
        self.assertTrue(torch.isfinite(m.embd.weight).all())


if __name__ == "__main__":
    unittest.main()
