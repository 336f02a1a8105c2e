"""Trains a cache-augmentation coprocessor (Liu et al., 2024, arXiv 2412.17747) for a lagvk decoder, as the
paper does: the decoder is frozen; the coprocessor (a copy of the decoder, trained) reads the decoder's KV
cache of a trace up to an augmentation point and turns N trainable soft-token embeddings into N latents
(its final normalised hidden states); the decoder takes the latents as input embeddings after the cache and
the loss is its cross-entropy on the next K ("ahead") tokens of the trace. Exactly lagvk's computation
(engine/forward/cache_augmentation): latents at the positions after the prefix, the following tokens after
them.

  coprocessor.py train --decoder assets/models/multihop-f16.gguf --tokens DIR/tokens.jsonl --out DIR
                       [--latents 16] [--ahead 8] [--steps N] [--minutes M] [--seed S] [--resume DIR]
  coprocessor.py eval  --decoder ... --weights DIR --tokens HELD_OUT.jsonl [--json FILE]

train writes DIR/weights.json + weights.bin (every tensor and lagvk.soft_tokens), which
`lagvk coprocessor make -m DECODER --weights DIR -o C.gguf` turns into a coprocessor file. eval prints, over
the traces of its --tokens (traces kept out of training), the cross-entropy and perplexity of each of the next
K tokens after an augmentation point, with and without augmentation.
tokens.jsonl is `lagvk tokenize -m DECODER --traces TRACES` (the traces as lagvk renders them).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gguf_read import read_gguf  # noqa: E402
from model import Config, Model, rope, rope_tables  # noqa: E402

SOFT_TOKENS = "lagvk.soft_tokens"


def load_decoder(path: Path) -> Model:
    meta, t = read_gguf(path)
    arch = meta["general.architecture"]
    if arch != "llama" or "output.weight" in t:
        sys.exit(f"coprocessor.py: {path} is not a tied-embedding llama model like the ones tools/train makes")
    c = Config(n_vocab=len(meta["tokenizer.ggml.tokens"]), n_layers=meta[f"{arch}.block_count"],
               n_embd=meta[f"{arch}.embedding_length"], n_head=meta[f"{arch}.attention.head_count"],
               n_head_kv=meta[f"{arch}.attention.head_count_kv"], n_ff=meta[f"{arch}.feed_forward_length"],
               n_ctx=meta[f"{arch}.context_length"], rope_freq_base=float(meta.get(f"{arch}.rope.freq_base", 1e4)),
               rms_eps=float(meta.get(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)))
    m = Model(c)
    with torch.no_grad():
        for name, p in m.gguf_tensors().items():
            p.copy_(torch.from_numpy(t[name]).view_as(p))
    return m.eval()


def block_step(b, x: torch.Tensor, table, past, allowed: torch.Tensor):
    """One block over x [B, T, D] at the table's positions, attending to `past` (rotated keys and values of
    the entries before, [B, P, Hkv, hd] each) and to itself where `allowed` [B, T, P + T] says. Returns x
    and the keys/values so far."""
    c = b.c
    B, T, _ = x.shape
    hd = c.n_embd // c.n_head
    rep = c.n_head // c.n_head_kv
    h = b.attn_norm(x)
    q = rope(b.q(h).view(B, T, c.n_head, hd) * (1.0 / math.sqrt(hd)), table)
    k = rope(b.k(h).view(B, T, c.n_head_kv, hd), table)
    v = b.v(h).view(B, T, c.n_head_kv, hd)
    if past is not None:
        k, v = torch.cat([past[0], k], 1), torch.cat([past[1], v], 1)
    qg = q.view(B, T, c.n_head_kv, rep, hd).permute(0, 2, 3, 1, 4)  # [B, Hkv, rep, T, hd]
    s = qg @ k.permute(0, 2, 3, 1)[:, :, None]  # [B, Hkv, rep, T, S]
    s = s.masked_fill(~allowed[:, None, None], float("-inf"))
    a = torch.softmax(s, -1) @ v.permute(0, 2, 1, 3)[:, :, None]
    a = a.permute(0, 3, 1, 2, 4).reshape(B, T, c.n_head * hd)
    x = x + b.o(a)
    h = b.ffn_norm(x)
    return x + b.down(F.silu(b.gate(h)) * b.up(h)), (k, v)


def run(m: Model, x: torch.Tensor, first, past=None, past_valid: torch.Tensor | None = None):
    """x: input embeddings [B, T, D], row b at positions first[b].. (an int: the same for every row),
    attending to `past` (each layer's keys/values of earlier entries, [B, P, ...]) where past_valid [B, P]
    is true (None: all of it) and causally to itself. Returns the final normalised hidden states and each
    layer's keys/values (past's and these)."""
    c = m.c
    B, T, _ = x.shape
    first = torch.as_tensor(first).reshape(-1, 1).expand(B, 1)
    table = rope_tables(first + torch.arange(T)[None], c.n_embd // c.n_head, c.rope_freq_base)
    allowed = torch.ones(T, T).tril().bool()[None].expand(B, T, T)
    if past is not None:
        P = past[0][0].shape[1]
        valid = past_valid if past_valid is not None else torch.ones(B, P, dtype=torch.bool)
        allowed = torch.cat([valid[:, None, :].expand(B, T, P), allowed], 2)
    caches = []
    for i, b in enumerate(m.blocks):
        x, kv = block_step(b, x, table, past[i] if past is not None else None, allowed)
        caches.append(kv)
    return m.norm(x), caches


IGNORE = -100  # a target past a trace's end: no loss


def ahead_losses(decoder: Model, copro: Model | None, soft: torch.Tensor | None, points: list[tuple], ahead: int):
    """Cross-entropies [B, ahead] of the next `ahead` tokens after each point (toks, t) of the batch
    (toks[t:t+ahead]), the decoder having read toks[:t]; with a coprocessor, its latents sit between the
    prefix and those tokens. Returns them with a mask [B, ahead] of the targets that exist (a trace may end
    sooner); masked entries are 0."""
    B = len(points)
    starts = torch.tensor([t for _, t in points])
    # The decoder reads each trace once, up to its latest point; points in the same trace share that pass.
    traces: dict[int, int] = {}
    row = torch.tensor([traces.setdefault(id(toks), len(traces)) for toks, _ in points])
    P = int(starts.max())
    prefix = torch.zeros(len(traces), P, dtype=torch.long)
    target = torch.full((B, ahead), IGNORE, dtype=torch.long)
    for i, (toks, t) in enumerate(points):
        reach = int(starts[row == row[i]].max())
        prefix[row[i], :reach] = toks[:reach]
        n = min(ahead, len(toks) - t)
        target[i, :n] = toks[t:t + n]
    valid = torch.arange(P)[None] < starts[:, None]  # right padding: causal attention never reads it
    with torch.no_grad():
        h_prefix, past = run(decoder, decoder.embd(prefix), 0)
        h_prefix = h_prefix[row]
        past = [(k[row], v[row]) for k, v in past]
    follow = decoder.embd(target[:, :-1].clamp(min=0))
    if copro is None:
        last = h_prefix[torch.arange(B), starts - 1][:, None]
        h = run(decoder, follow, starts, past, valid)[0] if ahead > 1 else h_prefix[:, :0]
        rows = torch.cat([last, h], 1)
    else:
        n = soft.shape[0]
        latents, _ = run(copro, soft[None].expand(B, -1, -1), starts, past, valid)
        h, _ = run(decoder, torch.cat([latents, follow], 1), starts, past, valid)
        rows = h[:, n - 1:]
    logits = rows @ decoder.embd.weight.T
    mask = target != IGNORE
    losses = F.cross_entropy(logits.reshape(B * ahead, -1), target.reshape(-1), ignore_index=IGNORE,
                             reduction="none").view(B, ahead)
    return losses, mask


def augmentation_points(trace: dict, ahead: int, rng: random.Random) -> int:
    """Where to augment: half the time where an assistant turn begins (where lagvk augments: after a prompt
    or a tool's answer), else anywhere with ahead tokens after it."""
    n = len(trace["tokens"])
    starts = [i for i in trace["all"] if i - 1 not in trace["all"] and 1 <= i <= n - 2]
    if starts and rng.random() < 0.5:
        return rng.choice(starts)
    return rng.randint(1, max(1, n - 2))


def load_traces(path: Path) -> list[dict]:
    traces = [t for t in (json.loads(l) for l in open(path)) if len(t["tokens"]) >= 4]
    if not traces:
        sys.exit(f"coprocessor.py: {path} has no trace of 4 tokens or more")
    return traces


def save(copro: Model, soft: torch.Tensor, out: Path, meta: dict) -> None:
    copro.save_weights(out)
    w = json.loads((out / "weights.json").read_text())
    a = soft.detach().to(torch.float32).contiguous().numpy().astype("<f4")
    offset = (out / "weights.bin").stat().st_size
    with open(out / "weights.bin", "ab") as f:
        f.write(a.tobytes())
    w["tensors"][SOFT_TOKENS] = {"shape": [a.shape[1], a.shape[0]], "offset": offset}
    w["coprocessor"] = meta
    (out / "weights.json").write_text(json.dumps(w, indent=1) + "\n")


def load_trained(decoder: Model, weights: Path) -> tuple[Model, torch.Tensor]:
    w = json.loads((weights / "weights.json").read_text())
    raw = (weights / "weights.bin").read_bytes()
    copro = copy.deepcopy(decoder)
    tensors = copro.gguf_tensors()
    with torch.no_grad():
        for name, info in w["tensors"].items():
            n = int(np.prod(info["shape"]))
            v = torch.frombuffer(bytearray(raw[info["offset"]:info["offset"] + 4 * n]), dtype=torch.float32)
            if name == SOFT_TOKENS:
                soft = v.view(info["shape"][1], info["shape"][0]).clone()
            else:
                tensors[name].copy_(v.view_as(tensors[name]))
    return copro.eval(), soft


def train(a) -> None:
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    decoder = load_decoder(a.decoder)
    for p in decoder.parameters():
        p.requires_grad_(False)
    if a.resume:  # a run continued: its weights and soft tokens (and so its latent count)
        copro, soft = load_trained(decoder, a.resume)
        a.latents = soft.shape[0]
    else:  # the paper's initialisation: the decoder's own weights; soft tokens from token embeddings
        copro = copy.deepcopy(decoder)
        rows = torch.randint(0, decoder.c.n_vocab, (a.latents,), generator=torch.Generator().manual_seed(a.seed))
        soft = decoder.embd.weight[rows].detach().clone()
    soft.requires_grad_(True)
    copro.train()
    for p in copro.parameters():
        p.requires_grad_(True)
    copro.embd.weight.requires_grad_(False)  # unused: its inputs are soft tokens, its output the latents
    train_set = load_traces(a.tokens)
    params = [p for p in copro.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": params, "weight_decay": 0.0, "lr": a.lr},
                             {"params": [soft], "weight_decay": 0.0, "lr": a.soft_lr}], betas=(0.9, 0.98))
    base = [g["lr"] for g in opt.param_groups]
    t0, log = time.time(), []
    a.out.mkdir(parents=True, exist_ok=True)
    print(f"coprocessor: {sum(p.numel() for p in params) / 1e6:.2f}M trained parameters + {soft.numel()} soft-token "
          f"values; {len(train_set)} training traces; {a.latents} latents, {a.ahead} ahead tokens", flush=True)
    for step in range(1, a.steps + 1):
        frac = min(1.0, (time.time() - t0) / (a.minutes * 60))
        progress = max(step / a.steps, frac)
        scale = min(1.0, step / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g, lr in zip(opt.param_groups, base):
            g["lr"] = lr * scale
        opt.zero_grad(set_to_none=True)
        points = []
        for _ in range(a.batch):
            trace = rng.choice(train_set)
            toks = torch.tensor(trace["tokens"])
            points += [(toks, augmentation_points(trace, a.ahead, rng)) for _ in range(a.points_per_trace)]
        losses, mask = ahead_losses(decoder, copro, soft, points, a.ahead)
        total, count = float(losses.sum()), int(mask.sum())
        (losses.sum() / count).backward()
        torch.nn.utils.clip_grad_norm_(params + [soft], 1.0)
        opt.step()
        log.append({"step": step, "loss": total / count, "seconds": round(time.time() - t0, 1)})
        if step % 20 == 0 or step == 1:
            print(f"step {step}/{a.steps} ahead loss {total / count:.4f} {time.time() - t0:.0f}s", flush=True)
        if frac >= 1.0:
            print(f"time limit reached after {step} steps", flush=True)
            break
    meta = {"decoder": str(a.decoder), "latents": a.latents, "ahead": a.ahead}
    save(copro, soft, a.out, meta)
    (a.out / "train_log.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(a).items()},
                                                       "log": log}) + "\n")
    print(f"saved {a.out} after {len(log)} steps, {time.time() - t0:.0f}s")


def evaluate(a) -> None:
    decoder = load_decoder(a.decoder)
    copro, soft = load_trained(decoder, a.weights)
    held = load_traces(a.tokens)
    rng = random.Random(a.seed)
    sums = {"none": np.zeros(a.ahead), "augmented": np.zeros(a.ahead)}
    counts = np.zeros(a.ahead)
    with torch.no_grad():
        for first in range(0, len(held), 32):
            points = [(toks, augmentation_points(trace, a.ahead, rng))
                      for trace in held[first:first + 32] for toks in [torch.tensor(trace["tokens"])]
                      for _ in range(a.points_per_trace)]
            for name, (c, s) in (("none", (None, None)), ("augmented", (copro, soft))):
                losses, mask = ahead_losses(decoder, c, s, points, a.ahead)
                sums[name] += losses.sum(0).numpy()
            counts += mask.sum(0).numpy()
    result = {"latents": int(soft.shape[0]), "traces": len(held), "points": int(counts[0]), "by_offset": []}
    for j in range(a.ahead):
        if counts[j] == 0:
            continue
        row = {"offset": j + 1, "count": int(counts[j])}
        for k in sums:
            ce = float(sums[k][j] / counts[j])
            row[k] = {"cross_entropy": ce, "perplexity": math.exp(ce)}
        result["by_offset"].append(row)
        print(f"token +{j + 1}: perplexity {row['none']['perplexity']:.3f} without, "
              f"{row['augmented']['perplexity']:.3f} with {soft.shape[0]} latents ({int(counts[j])} points)")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("train", "eval"):
        s = sub.add_parser(name)
        s.add_argument("--decoder", type=Path, required=True, help="the decoder GGUF (F16 or F32)")
        s.add_argument("--tokens", type=Path, required=True, help="lagvk tokenize --traces output")
        s.add_argument("--ahead", type=int, default=8, help="tokens after the latents that the loss covers")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
        s.add_argument("--points-per-trace", type=int, default=4,
                       help="augmentation points per trace (they share the decoder's pass over the trace)")
    t = sub.choices["train"]
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--latents", type=int, default=16)
    t.add_argument("--resume", type=Path, help="continue from what an earlier train wrote (its latent count)")
    t.add_argument("--steps", type=int, default=2000)
    t.add_argument("--minutes", type=float, default=20.0, help="the schedule ends at this wall time")
    t.add_argument("--batch", type=int, default=8, help="traces per step")
    t.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of the coprocessor's weights")
    t.add_argument("--soft-lr", type=float, default=1e-2, help="peak learning rate of the soft tokens")
    e = sub.choices["eval"]
    e.add_argument("--weights", type=Path, required=True, help="what train wrote")
    e.add_argument("--json", help="also write the table as JSON here")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    train(a) if a.command == "train" else evaluate(a)


if __name__ == "__main__":
    main()
