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


def rope_tables(pos: torch.Tensor, d: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of pos * base^(-2i/D), [B, T, 1, D/2]: computed once per forward, used by every layer."""
    inv = base ** (-torch.arange(0, d, 2, dtype=torch.float32, device=pos.device) / d)
    ang = pos.float()[..., None] * inv
    return ang.cos()[:, :, None, :], ang.sin()[:, :, None, :]


def rope(x: torch.Tensor, table: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """x: [B, T, H, D]. Rotates the pairs (x[2i], x[2i+1]) by the table's angles."""
    cos, sin = table
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

    def forward(self, x, own: tuple, splice: "Splice | None", bias: torch.Tensor):
        """bias: [B, 1, 1, T, T + S] additive mask (0 or -inf) over the keys, the spliced keys last."""
        c = self.c
        B, T, _ = x.shape
        hd = c.n_embd // c.n_head
        rep = c.n_head // c.n_head_kv
        h = self.attn_norm(x)
        q = self.q(h).view(B, T, c.n_head, hd) * (1.0 / math.sqrt(hd))  # the scale on q: T x D, not T x T
        k = self.k(h).view(B, T, c.n_head_kv, hd)
        v = self.v(h).view(B, T, c.n_head_kv, hd)
        # Grouped-query attention without copying keys: the rep query heads of a kv head share one matmul.
        qr = rope(q, own).view(B, T, c.n_head_kv, rep, hd).permute(0, 2, 3, 1, 4).reshape(B, c.n_head_kv, rep * T, hd)
        kr = rope(k, own)
        if splice is not None:
            # LAG's splice: an earlier task's kept keys, re-rotated at the positions the splice gives them,
            # appended as extra keys that only the task's queries may see; their values as computed.
            kr = torch.cat([kr, rope(splice.gather(k), splice.table)], 1)
            v = torch.cat([v, splice.gather(v)], 1)
        s = (qr @ kr.permute(0, 2, 3, 1)).view(B, c.n_head_kv, rep, T, -1) + bias
        a = torch.softmax(s, -1).view(B, c.n_head_kv, rep * T, -1) @ v.transpose(1, 2)
        a = a.view(B, c.n_head_kv, rep, T, hd).permute(0, 3, 1, 2, 4).reshape(B, T, c.n_head * hd)
        x = x + self.o(a)
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Splice:
    """The earlier tasks' kept tokens of a batch, padded to the longest: where they are in the sequence
    and the rotary table of their spliced positions."""

    def __init__(self, selected: torch.Tensor, pos_spliced: torch.Tensor, d: int, base: float):
        counts = selected.sum(1)
        S = int(counts.max())
        # Stable sort puts each row's selected tokens first, in sequence order.
        self.index = torch.sort((~selected).to(torch.int8), dim=1, stable=True).indices[:, :S]
        self.valid = torch.arange(S, device=selected.device)[None] < counts[:, None]
        self.table = rope_tables(torch.gather(pos_spliced, 1, self.index), d, base)

    def gather(self, t: torch.Tensor) -> torch.Tensor:
        """t: [B, T, H, D] -> the kept tokens' rows, [B, S, H, D]."""
        idx = self.index[:, :, None, None].expand(-1, -1, t.shape[2], t.shape[3])
        return torch.gather(t, 1, idx)


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
        c = self.c
        B, T = tokens.shape
        hd = c.n_embd // c.n_head
        causal = torch.ones(T, T, dtype=torch.bool, device=tokens.device).tril()
        allowed = (seg[:, :, None] == seg[:, None, :]) & causal
        selected = selected & (seg != TASK)
        splice = None
        if bool(selected.any()):
            splice = Splice(selected, pos_spliced, hd, c.rope_freq_base)
            task_sees = (seg == TASK)[:, :, None] & splice.valid[:, None, :]
            allowed = torch.cat([allowed, task_sees], 2)
        bias = torch.zeros(allowed.shape, dtype=torch.float32, device=tokens.device)
        bias = bias.masked_fill(~allowed, float("-inf"))[:, None, None]
        own = rope_tables(pos_own, hd, c.rope_freq_base)
        x = self.embd(tokens)
        for b in self.blocks:
            x = b(x, own, splice, bias)
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
