"""Checks that lagvk computes what the trainer trained: for held-out traces cut where an assistant turn
begins, PyTorch (the frozen decoder, the trained coprocessor's latents after the prefix, greedy decoding
after them) and `lagvk run --coprocessor` (the exported coprocessor GGUF) must produce the same tokens. A
wrong soft-token orientation, latent position or tensor in the export shows at the first token.

  check_coprocessor.py --decoder assets/models/multihop-f16.gguf --weights DIR --coprocessor C.gguf \
                       --tokens HELD_OUT.jsonl --lagvk build/bin/lagvk [--traces 8] [--n 16] [--json FILE]

Prints the agreement (tokens equal, position by position) and exits 1 when any trace's first token differs
or fewer than 90% of all tokens agree (float16 weights in the GGUF make late near-ties possible).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from coprocessor import load_decoder, load_traces, load_trained, run  # noqa: E402


def torch_greedy(decoder, copro, soft, prompt: list[int], n: int) -> tuple[list[int], list[float]]:
    """Greedy tokens after the prompt and its latents, and each step's margin (top logit minus the second)."""
    toks = torch.tensor(prompt)
    out, margins = [], []
    with torch.no_grad():
        _, past = run(decoder, decoder.embd(toks)[None], 0)
        latents, _ = run(copro, soft[None], len(prompt), past)
        x = torch.cat([decoder.embd(toks)[None], latents], 1)
        for _ in range(n):
            h, _ = run(decoder, x, 0)
            logits = h[0, -1] @ decoder.embd.weight.T
            top = torch.topk(logits, 2)
            out.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]))
            x = torch.cat([x, decoder.embd(top.indices[:1])[None]], 1)
    return out, margins


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--decoder", type=Path, required=True)
    ap.add_argument("--weights", type=Path, required=True, help="what coprocessor.py train wrote")
    ap.add_argument("--coprocessor", type=Path, required=True, help="the GGUF made from --weights")
    ap.add_argument("--tokens", type=Path, required=True, help="lagvk tokenize --traces output (held out)")
    ap.add_argument("--lagvk", default="lagvk")
    ap.add_argument("--traces", type=int, default=8)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--json", help="also write the result here")
    a = ap.parse_args()
    decoder = load_decoder(a.decoder)
    copro, soft = load_trained(decoder, a.weights)
    rows, agree, total, first_ok = [], 0, 0, 0
    for trace in load_traces(a.tokens)[:a.traces]:
        starts = [i for i in trace["all"] if i - 1 not in trace["all"]]
        prompt = trace["tokens"][:starts[0]]
        ours, margins = torch_greedy(decoder, copro, soft, prompt, a.n)
        out = json.loads(subprocess.check_output(
            [a.lagvk, "run", "-m", str(a.decoder), "--coprocessor", str(a.coprocessor), "--tokens",
             ",".join(map(str, prompt)), "-n", str(a.n), "--temp", "0", "--ignore-eos", "--json"]))
        theirs = out["tokens"]
        same = sum(1 for x, y in zip(ours, theirs) if x == y)
        agree, total = agree + same, total + a.n
        first_ok += int(bool(theirs) and ours[0] == theirs[0])
        rows.append({"prompt_tokens": len(prompt), "torch": ours, "lagvk": theirs, "equal": same,
                     "min_margin": min(margins), "augment_ms": out["augmentation"]["ms"]})
        print(f"prompt of {len(prompt)} tokens: {same}/{a.n} tokens equal (smallest PyTorch margin "
              f"{min(margins):.3f}; lagvk augmented in {out['augmentation']['ms']:.1f} ms)")
    result = {"traces": len(rows), "tokens": total, "equal": agree, "first_equal": first_ok, "rows": rows}
    print(f"{agree}/{total} tokens equal; first token equal in {first_ok}/{len(rows)} traces")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1) + "\n")
    sys.exit(0 if first_ok == len(rows) and agree >= 0.9 * total else 1)


if __name__ == "__main__":
    main()
