"""The llama-architecture model trained for the multihop demo, exactly as lagvk runs a GGUF "llama" model:
RMSNorm, rotary embeddings on adjacent pairs (GGUF's llama layout, so no weight permutation on export),
grouped-query attention, SwiGLU, tied input/output embedding.

Attention takes two rotary positions per token. `pos_own` rotates queries and keys inside a token's own
segment; `pos_spliced` rotates the keys a task sees of an earlier task's log. That is LAG's splice
(the log's keys re-rotated to their new positions while their values stay as computed in the original
trace), so the model trains on the same attention it will get from lagvk's KV mode.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    n_vocab: int
    n_layers: int = 4
    n_embd: int = 256
    n_head: int = 8
    n_head_kv: int = 2
    n_ff: int = 640
    n_ctx: int = 2048
    rope_freq_base: float = 10000.0
    rms_eps: float = 1e-5
    tied_output: bool = True
    arch: str = "llama"


class RMSNorm(nn.Module):
    def __init__(self, n: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x: torch.Tensor, pos: torch.Tensor, base: float) -> torch.Tensor:
    """x: [B, T, H, D]; pos: [B, T]. Rotates the pairs (x[2i], x[2i+1]) by pos * base^(-2i/D)."""
    d = x.shape[-1]
    inv = base ** (-torch.arange(0, d, 2, dtype=torch.float32, device=x.device) / d)
    ang = pos.float()[..., None] * inv
    cos, sin = ang.cos()[:, :, None, :], ang.sin()[:, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], -1).flatten(-2)


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        hd = c.n_embd // c.n_head
        self.attn_norm = RMSNorm(c.n_embd, c.rms_eps)
        self.q = nn.Linear(c.n_embd, c.n_head * hd, bias=False)
        self.k = nn.Linear(c.n_embd, c.n_head_kv * hd, bias=False)
        self.v = nn.Linear(c.n_embd, c.n_head_kv * hd, bias=False)
        self.o = nn.Linear(c.n_head * hd, c.n_embd, bias=False)
        self.ffn_norm = RMSNorm(c.n_embd, c.rms_eps)
        self.gate = nn.Linear(c.n_embd, c.n_ff, bias=False)
        self.up = nn.Linear(c.n_embd, c.n_ff, bias=False)
        self.down = nn.Linear(c.n_ff, c.n_embd, bias=False)

    def forward(self, x, pos_own, pos_spliced, allowed, spliced, any_spliced: bool):
        c = self.c
        B, T, _ = x.shape
        hd = c.n_embd // c.n_head
        h = self.attn_norm(x)
        q = self.q(h).view(B, T, c.n_head, hd)
        k = self.k(h).view(B, T, c.n_head_kv, hd)
        v = self.v(h).view(B, T, c.n_head_kv, hd)
        rep = c.n_head // c.n_head_kv
        qr = rope(q, pos_own, c.rope_freq_base).transpose(1, 2)  # B H T D
        kr = rope(k, pos_own, c.rope_freq_base).repeat_interleave(rep, 2).transpose(1, 2)
        s = qr @ kr.transpose(-1, -2)
        if any_spliced:
            ks = rope(k, pos_spliced, c.rope_freq_base).repeat_interleave(rep, 2).transpose(1, 2)
            s = torch.where(spliced[:, None], qr @ ks.transpose(-1, -2), s)
        s = s / math.sqrt(hd)
        s = s.masked_fill(~allowed[:, None], float("-inf"))
        a = torch.softmax(s, -1) @ v.repeat_interleave(rep, 2).transpose(1, 2)
        x = x + self.o(a.transpose(1, 2).reshape(B, T, -1))
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Model(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embd = nn.Embedding(c.n_vocab, c.n_embd)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.norm = RMSNorm(c.n_embd, c.rms_eps)
        nn.init.normal_(self.embd.weight, std=0.02)
        for b in self.blocks:
            for lin in (b.q, b.k, b.v, b.gate, b.up):
                nn.init.normal_(lin.weight, std=0.02)
            for lin in (b.o, b.down):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * c.n_layers))

    def forward(self, tokens, pos_own, pos_spliced, seg, selected, at=None):
        """seg: segment of each token (-1 padding, 0.. earlier tasks, TASK the task itself); selected: the
        tokens an earlier task's log keeps. A token attends causally inside its own segment; the task's
        tokens also attend to every selected token of the earlier tasks, rotated at pos_spliced."""
        T = tokens.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=tokens.device).tril()
        same = (seg[:, :, None] == seg[:, None, :]) & causal
        task_q = seg == TASK
        spliced = task_q[:, :, None] & (seg[:, None, :] != TASK) & selected[:, None, :]
        allowed = same | spliced
        any_spliced = bool(spliced.any())
        x = self.embd(tokens)
        for b in self.blocks:
            x = b(x, pos_own, pos_spliced, allowed, spliced, any_spliced)
        x = self.norm(x)
        if at is not None:
            x = x[at]  # only where a loss is taken: the output layer is the widest matrix
        return x @ self.embd.weight.T

    def gguf_tensors(self) -> dict[str, torch.Tensor]:
        """GGUF names; a torch Linear's [out, in] row-major layout is GGUF's {in, out}."""
        t = {"token_embd.weight": self.embd.weight, "output_norm.weight": self.norm.weight}
        for i, b in enumerate(self.blocks):
            p = f"blk.{i}."
            t.update({p + "attn_norm.weight": b.attn_norm.weight, p + "attn_q.weight": b.q.weight,
                      p + "attn_k.weight": b.k.weight, p + "attn_v.weight": b.v.weight,
                      p + "attn_output.weight": b.o.weight, p + "ffn_norm.weight": b.ffn_norm.weight,
                      p + "ffn_gate.weight": b.gate.weight, p + "ffn_up.weight": b.up.weight,
                      p + "ffn_down.weight": b.down.weight})
        return t

    def save_weights(self, out: Path) -> None:
        """weights.json + weights.bin, read by `lagvk make-model --weights`."""
        out.mkdir(parents=True, exist_ok=True)
        meta, offset = {}, 0
        with open(out / "weights.bin", "wb") as f:
            for name, w in self.gguf_tensors().items():
                a = w.detach().to(torch.float32).contiguous().numpy().astype("<f4")
                meta[name] = {"shape": list(reversed(a.shape)), "offset": offset}
                f.write(a.tobytes())
                offset += a.nbytes
        (out / "weights.json").write_text(json.dumps(
            {"format": "lagvk-weights-1", "config": asdict(self.c), "tensors": meta}, indent=1) + "\n")


TASK = 1000  # segment id of the task's own tokens
