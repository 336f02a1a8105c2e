"""Plots for the multihop model card and the evaluation table.

  plot.py loss loss.png LOG.json [LOG.json]  training loss per step and its moving average (train.py's
                                             train_log.json; a second log continues the first)
  plot.py eval eval.json eval.png            `lagvk eval --json` output: EM and steps per mode and split
  plot.py perplexity out.png PPL.json [...]  coprocessor.py eval --json outputs (one per latent count):
                                             perplexity of each next token with and without augmentation
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {"none": "no logs", "text-full": "text, whole trace", "text-last": "text, last response",
          "kv-last": "KV, last (LAG)", "kv-all": "KV, all responses"}


def loss(dst: str, *srcs: str) -> None:
    steps, vals, offset, bounds = [], [], 0, []
    for src in srcs:
        log = json.load(open(src))["log"]
        steps += [offset + r["step"] for r in log]
        vals += [r["loss"] for r in log]
        offset = steps[-1]
        bounds.append(offset)
    params = json.load(open(srcs[-1]))["parameters"]
    avg, acc = [], 0.0
    for i, v in enumerate(vals):  # a sparse log (one point per N steps) weighs each point N steps' worth
        keep = 0.95 ** (steps[i] - steps[i - 1]) if i else 0.0
        acc = keep * acc + (1 - keep) * v
        avg.append(acc)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, vals, lw=0.6, alpha=0.4, label="batch loss")
    ax.plot(steps, avg, lw=1.5, label="moving average")
    for b in bounds[:-1]:
        ax.axvline(b, color="gray", ls="--", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("step (16 samples)")
    ax.set_ylabel("cross-entropy on assistant tokens")
    ax.set_title(f"lagvk multihop model: {params / 1e6:.2f}M parameters")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(dst, dpi=120)


def evaluation(src: str, dst: str) -> None:
    rows = json.load(open(src))["rows"]
    splits = [s for s in ("unseen", "seen") if any(r["split"] == s for r in rows)]
    modes = [m for m in LABELS if any(r["mode"] == m for r in rows)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    width = 0.8 / len(splits)
    for k, (ax, key, title) in enumerate(zip(axes, ["exact_match", "mean_steps"],
                                             ["exact match (%)", "agent steps per question"])):
        for j, s in enumerate(splits):
            vals = [next((r[key] for r in rows if r["split"] == s and r["mode"] == m), 0) for m in modes]
            xs = [i + (j - (len(splits) - 1) / 2) * width for i in range(len(modes))]
            bars = ax.bar(xs, vals, width, label=f"{s} questions")
            ax.bar_label(bars, fmt="%.1f" if key == "exact_match" else "%.2f", fontsize=7)
        ax.set_xticks(range(len(modes)))
        ax.set_xticklabels([LABELS[m] for m in modes], rotation=20, ha="right", fontsize=8)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        if k == 0:
            ax.legend(fontsize=8)
    fig.suptitle("LAG on the multihop suite (lagvk eval)")
    fig.tight_layout()
    fig.savefig(dst, dpi=120)


def perplexity(dst: str, *srcs: str) -> None:
    results = sorted((json.load(open(s)) for s in srcs), key=lambda r: r["latents"])
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    first = results[0]["by_offset"]
    ax.plot([r["offset"] for r in first], [r["none"]["perplexity"] for r in first], "k--o", ms=3,
            label="no augmentation")
    for res in results:
        rows = res["by_offset"]
        ax.plot([r["offset"] for r in rows], [r["augmented"]["perplexity"] for r in rows], "-o", ms=3,
                label=f"{res['latents']} latents")
    ax.set_yscale("log")
    ax.set_xlabel("token after the augmentation point")
    ax.set_ylabel("perplexity (log scale)")
    ax.set_title(f"Cache augmentation on held-out traces ({first[0]['count']} points)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(dst, dpi=120)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] not in ("loss", "eval", "perplexity"):
        sys.exit(__doc__)
    if sys.argv[1] == "loss":
        loss(sys.argv[2], *sys.argv[3:])
    elif sys.argv[1] == "perplexity":
        perplexity(sys.argv[2], *sys.argv[3:])
    else:
        evaluation(sys.argv[2], sys.argv[3])
