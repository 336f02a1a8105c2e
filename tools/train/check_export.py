"""Checks an exported model against the trained weights: greedy tokens from PyTorch and from `lagvk run`
on the same prompt must agree (a wrong rotary layout or tensor orientation shows at the first token).

  check_export.py --weights build/train/weights --gguf model.gguf --lagvk build/bin/lagvk [--n 24]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import TASK, Config, Model  # noqa: E402


def load(weights: Path) -> Model:
    meta = json.loads((weights / "weights.json").read_text())
    m = Model(Config(**meta["config"]))
    raw = (weights / "weights.bin").read_bytes()
    tensors = m.gguf_tensors()
    with torch.no_grad():
        for name, info in meta["tensors"].items():
            n = tensors[name].numel()
            v = torch.frombuffer(bytearray(raw[info["offset"]:info["offset"] + 4 * n]), dtype=torch.float32)
            tensors[name].copy_(v.view_as(tensors[name]))
    return m.eval()


def torch_greedy(m: Model, prompt: list[int], n: int) -> list[int]:
    toks = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            t = torch.tensor([toks])
            pos = torch.arange(len(toks))[None]
            seg = torch.full_like(t, TASK)
            logits = m(t, pos, pos, seg, torch.zeros_like(t, dtype=torch.bool))
            toks.append(int(logits[0, -1].argmax()))
    return toks[len(prompt):]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--gguf", type=Path, required=True)
    ap.add_argument("--lagvk", default="lagvk")
    ap.add_argument("--prompt", default="User: What is the capital of the country of Fimand?\nAssistant:")
    ap.add_argument("--n", type=int, default=24)
    a = ap.parse_args()
    ids = json.loads(subprocess.check_output([a.lagvk, "tokenize", "-m", str(a.gguf), "--bos", "--json", a.prompt]))
    ours = torch_greedy(load(a.weights), ids, a.n)
    out = json.loads(subprocess.check_output(
        [a.lagvk, "run", "-m", str(a.gguf), "--tokens", ",".join(map(str, ids)), "-n", str(a.n), "--temp", "0",
         "--ignore-eos", "--json"]))
    theirs = out["tokens"]
    same = sum(1 for x, y in zip(ours, theirs) if x == y)
    first = next((i for i, (x, y) in enumerate(zip(ours, theirs)) if x != y), None)
    print(json.dumps({"torch": ours, "lagvk": theirs, "agree": same, "of": len(ours), "first_difference": first}))
    sys.exit(0 if first is None or first >= len(ours) // 2 else 1)


if __name__ == "__main__":
    main()
