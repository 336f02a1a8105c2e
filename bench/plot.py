#!/usr/bin/env python3
"""Draws `lagvk bench --json` runs side by side in one PNG: drivers, devices or versions compared.

  python3 bench/plot.py A.json [B.json ...] -o out.png [--title TEXT]

Panels: the measured roofs; kernel throughput per weight format as a share of the roofs (matvec GB/s of
the Vulkan copy roof, matmul GFLOP/s of the FMA peak); model prefill and decode tok/s per context depth
(lagvk, and llama.cpp where the run has the peer); LAG time to first token per log mode. Each run is one
colour, labelled by its device, driver and commit (and file name when two runs would read the same). A
part a run did not measure leaves its bars out. Needs matplotlib (Debian: python3-matplotlib; installed by
scripts/setup.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path: str) -> dict:
    try:
        with open(path) as f:
            run = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"plot.py: cannot read {path} as JSON: {e}")
    if not isinstance(run, dict) or "lagvk_bench" not in run:
        sys.exit(f"plot.py: {path} is not `lagvk bench --json` output")
    return run


def labels(runs: list[dict], paths: list[str]) -> list[str]:
    out = []
    for run in runs:
        device = run.get("device", {})
        name = device.get("name", "?").split(" (")[0]
        out.append(f"{name} {device.get('driver_info', '')} @{run.get('commit', '?')[:8]} ({run.get('mode', '?')})")
    if len(set(out)) < len(out):  # the same device and build measured twice: tell them apart by file
        out = [f"{label} [{os.path.basename(p)}]" for label, p in zip(out, paths)]
    return out


def grouped_bars(ax, groups: list[str], series: list[list[float | None]], names: list[str], ylabel: str,
                 title: str, log: bool = False) -> None:
    """One group of bars per entry of `groups`, one bar per series (run); None leaves a gap."""
    if not groups:
        ax.set_title(title)
        ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    width = 0.8 / max(1, len(series))
    for i, (values, name) in enumerate(zip(series, names)):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [v if v is not None else 0 for v in values], width, label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)


def union(keys_per_run: list[list[str]]) -> list[str]:
    seen: list[str] = []
    for keys in keys_per_run:
        for k in keys:
            if k not in seen:
                seen.append(k)
    return seen


def roofs(run: dict) -> dict[str, float]:
    r = run.get("roofs", {})
    names = {"gpu_copy_gbps": "Vulkan copy GB/s", "host_read_gbps": "host read GB/s",
             "gpu_fp32_gflops": "fp32 FMA GFLOP/s"}
    return {label: r[key] for key, label in names.items() if key in r}


def kernels(run: dict, key: str) -> dict[str, float]:
    return {r["format"]: 100 * r[key] for r in run.get("kernels", {}).get("rows", []) if key in r}


def model(run: dict, test: str) -> dict[str, float]:
    out = {}
    rows = run.get("model", {}).get("rows", []) + run.get("peer", {}).get("rows", [])
    for r in rows:
        if r.get("test") != test or "tps" not in r:
            continue
        engine = "lagvk" if r.get("engine") == "lagvk" else f"llama.cpp {r.get('backend', '?')}"
        out[f"{engine} {test}{r.get('tokens', '')} d{r.get('depth', 0)}"] = r["tps"]
    return out


def lag(run: dict) -> dict[str, float]:
    return {f"{r['mode']} k={r['k']} T={r['tokens_per_log']}": r["ttft_ms"] for r in run.get("lag", {}).get("rows", [])}


def panel(ax, runs: list[dict], names: list[str], extract, ylabel: str, title: str, log: bool = False) -> None:
    values = [extract(run) for run in runs]
    groups = union([list(v.keys()) for v in values])
    grouped_bars(ax, groups, [[v.get(g) for g in groups] for v in values], names, ylabel, title, log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="lagvk bench --json files")
    parser.add_argument("-o", "--output", required=True, help="the PNG to write")
    parser.add_argument("--title", default="lagvk bench", help="the figure's title")
    args = parser.parse_args()
    runs = [load(p) for p in args.runs]
    names = labels(runs, args.runs)
    fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    panel(axes[0][0], runs, names, roofs, "GB/s or GFLOP/s", "measured roofs", log=True)
    panel(axes[0][1], runs, names, lambda r: kernels(r, "matvec_fraction_of_copy_roof"), "% of copy roof",
          "matvec (decode): GB/s as % of the copy roof")
    panel(axes[0][2], runs, names, lambda r: kernels(r, "matmul_fraction_of_fma_peak"), "% of FMA peak",
          "matmul (prefill): GFLOP/s as % of the FMA peak")
    panel(axes[1][0], runs, names, lambda r: model(r, "pp"), "tok/s", "prefill by context depth", log=True)
    panel(axes[1][1], runs, names, lambda r: model(r, "tg"), "tok/s", "decode by context depth", log=True)
    panel(axes[1][2], runs, names, lag, "ms", "LAG time to first token (k logs of T tokens)", log=True)
    handles, legend = axes[0][0].get_legend_handles_labels()
    if not handles:
        for row in axes:
            for ax in row:
                handles, legend = ax.get_legend_handles_labels()
                if handles:
                    break
            if handles:
                break
    fig.legend(handles, legend, loc="lower center", ncol=min(len(names), 3), fontsize=9)
    fig.suptitle(args.title)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    fig.savefig(args.output, dpi=90)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
