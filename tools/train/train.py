"""Trains the multihop demo model on agent traces (see tools/train/README.md for the whole pipeline).

  train.py --data build/train --out build/train/weights [--steps N] [--minutes M] [--seed S]

--data holds samples.jsonl (make_data.py corpus) and tokens.jsonl (`lagvk tokenize --traces`, the same
traces as lagvk renders them). Each sample is one task trace with 0 to 4 earlier tasks in front of it,
placed as the mode says, exactly as lagvk's context builder places logs:
  none       BOS + the task
  text_full  the earlier traces' tokens (each from its BOS), then the task (from its own BOS: the paper's
             layout [logs][BOS + prompt])
  text_last  the earlier traces' last responses as text, then the task
  kv_last    the earlier traces run in full, each in its own frame; the task attends to their last
             responses' keys/values only, keys re-rotated to the positions the splice gives them
  kv_all     the same with every assistant response kept
The loss covers the task's assistant turns (each with the newline that ends it) and, in the kv modes,
the earlier traces' assistant turns too (those are ordinary no-log traces in their own frames).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_data import CONTEXT_MODES  # noqa: E402
from model import TASK, Config, Model  # noqa: E402


def spans_end(indices: list[int]) -> list[int]:
    """Index just after each run of consecutive indices."""
    return [a + 1 for a, b in zip(indices, indices[1:] + [None]) if b is None or b != a + 1]


class Corpus:
    def __init__(self, data: Path, newline: int, max_len: int, mode_weights: dict[str, float] | None = None,
                 seed: int = 0, task_only: bool = False, first_turn_weight: float = 1.0, max_priors: int = 0,
                 decision_after: frozenset[int] = frozenset(), decision_weight: float = 1.0,
                 branch_repeats: dict[str, int] | None = None):
        self.task_only = task_only
        self.first_turn_weight = first_turn_weight
        self.decision_after = decision_after
        self.decision_weight = decision_weight
        self.traces = [json.loads(l) for l in open(data / "tokens.jsonl")]
        self.samples = [json.loads(l) for l in open(data / "samples.jsonl")]
        if branch_repeats:  # in place, so that the re-drawn modes below stay one draw per line
            self.samples = [s for s in self.samples for _ in range(branch_repeats.get(s.get("branch"), 1))]
        if max_priors:
            # Drop, never cut: a task's trace restates every fact its earlier tasks resolved, so a sample
            # cut to fewer earlier tasks would teach the model to restate facts its context lacks.
            self.samples = [s for s in self.samples if len(s["priors"]) <= max_priors]
        if mode_weights is not None:  # a later phase can stress one way of reading logs: re-draw the modes
            unknown = set(mode_weights) - {"none", *CONTEXT_MODES}
            if unknown:
                sys.exit(f"train.py: unknown mode(s) {sorted(unknown)} in --modes; use none and {CONTEXT_MODES}")
            rng = random.Random(seed)
            logs = {k: v for k, v in mode_weights.items() if k != "none"}
            plain_share = mode_weights.get("none", 1.0)  # keep this share of the samples without logs
            self.samples = [{**s, "mode": rng.choices(list(logs), list(logs.values()))[0]} if s["priors"] else s
                            for s in self.samples if s["priors"] or rng.random() < plain_share]
        self.nl = newline
        self.max_len = max_len

    def _trace(self, i: int, after_logs: bool):
        t = self.traces[i]
        toks = list(t["tokens"])  # from its BOS, after logs too: [logs][BOS + prompt] (the paper's layout)
        target = np.zeros(len(toks) + 1, dtype=np.float32)  # a token's loss weight; 0: not a target
        target[t["all"]] = 1.0
        ends = spans_end(t["all"])
        target[ends] = 1.0
        if after_logs and ends:
            # After logs, the first turn decides everything: which facts the logs already give (copied
            # from them) and what to look up; later turns only repeat it.
            first = t["all"][0]
            target[first:ends[0] + 1] *= self.first_turn_weight
        if self.decision_weight != 1.0:
            # The token after `subject relation` is the decision: the object of that very link wherever the
            # context holds it, ` ?` where it does not. One token of a fact's six, it is where logs are
            # misread (an object copied for the right subject under another relation).
            for i in range(1, len(toks)):
                if toks[i - 1] in self.decision_after:
                    target[i] *= self.decision_weight
        if ends and ends[-1] == len(toks):
            toks.append(self.nl)  # the newline that ends the final answer
        return toks, [float(x) for x in target[:len(toks)]]

    def build(self, s: dict):
        """tokens, pos_own, pos_spliced, seg, selected, target (predict token t: target[t])."""
        mode, priors = s["mode"], list(s["priors"])
        while True:
            parts = self._assemble(s["task"], priors, mode)
            if len(parts[0]) <= self.max_len or not priors:
                return parts
            priors = priors[1:]

    def _assemble(self, task: int, priors: list[int], mode: str):
        toks, pown, pspl, seg, sel, tgt = [], [], [], [], [], []
        at = 0  # where the next spliced/read token lands

        def read_as_text(tokens: list[int], targets: list[float]) -> None:
            """Tokens in the task's own segment at the next positions (text logs, the task itself)."""
            nonlocal at
            n = len(tokens)
            toks.extend(tokens)
            pown.extend(range(at, at + n))
            pspl.extend(range(at, at + n))
            seg.extend([TASK] * n)
            sel.extend([False] * n)
            tgt.extend(targets)
            at += n
        for j, p in enumerate(priors if mode != "none" else []):
            t = self.traces[p]
            if mode in ("text_full", "text_last"):
                keep = t["tokens"] if mode == "text_full" else [t["tokens"][i] for i in t["last"]]
                read_as_text(keep, [0.0] * len(keep))
            else:
                keep_idx = t["last"] if mode == "kv_last" else t["all"]
                ptoks, ptgt = self._trace(p, False)
                ptoks, ptgt = ptoks[:len(t["tokens"])], ptgt[:len(t["tokens"])]
                n = len(ptoks)
                spl = [0] * n
                selected = [False] * n
                for k, i in enumerate(keep_idx):
                    spl[i] = at + k
                    selected[i] = True
                toks += ptoks
                pown += range(n)
                pspl += spl
                seg += [j] * n
                sel += selected
                tgt += [0.0] * n if self.task_only else list(ptgt)
                at += len(keep_idx)
        read_as_text(*self._trace(task, after_logs=mode != "none" and bool(priors)))
        return toks, pown, pspl, seg, sel, tgt


def collate(parts_list):
    T = max(len(p[0]) for p in parts_list)
    B = len(parts_list)
    out = [torch.zeros(B, T, dtype=torch.long) for _ in range(3)] + [torch.full((B, T), -1, dtype=torch.long)] + \
          [torch.zeros(B, T, dtype=torch.bool), torch.zeros(B, T, dtype=torch.float32)]
    for b, parts in enumerate(parts_list):
        n = len(parts[0])
        for k in range(6):
            out[k][b, :n] = torch.tensor(parts[k], dtype=out[k].dtype)
    return out


def batches(corpus: Corpus, batch: int, rng: random.Random):
    order = list(range(len(corpus.samples)))
    while True:
        rng.shuffle(order)
        for at in range(0, len(order) - 16 * batch + 1, 16 * batch):
            chunk = [corpus.build(corpus.samples[i]) for i in order[at:at + 16 * batch]]
            chunk.sort(key=lambda p: len(p[0]))  # similar lengths together: less padding
            groups = [chunk[k:k + batch] for k in range(0, len(chunk), batch)]
            rng.shuffle(groups)
            for g in groups:
                yield collate(g)


def loss_of(model, b):
    tokens, pown, pspl, seg, sel, weight = b
    tgt = weight > 0
    at = torch.zeros_like(tgt)
    at[:, :-1] = tgt[:, 1:]  # position t predicts token t + 1
    logits = model(tokens, pown, pspl, seg, sel, at)
    w = weight[:, 1:][tgt[:, 1:]]
    return (F.cross_entropy(logits, tokens[:, 1:][tgt[:, 1:]], reduction="none") * w).sum() / w.sum()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--newline", type=int, required=True, help="token id of a newline")
    ap.add_argument("--n-vocab", type=int, required=True)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--minutes", type=float, default=50.0, help="stop (and save) after this long")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--max-len", type=int, default=640)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--ff", type=int, default=640)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--stop-after", type=int, default=0, help="end after this many steps, schedule unchanged")
    ap.add_argument("--modes", default="", help="re-draw the modes of samples with earlier tasks by these "
                    "weights, and keep the share none= of samples without (e.g. none=0.4,kv_last=6,kv_all=1,text_last=1,"
                    "text_full=1; default: the modes make_data.py drew)")
    ap.add_argument("--task-only", action="store_true", help="loss on the task's turns only, not on the earlier "
                    "traces' own turns in the kv modes (those are no-log traces, a skill learnt first)")
    ap.add_argument("--first-turn-weight", type=float, default=1.0, help="loss weight of the task's first turn "
                    "when logs precede it (the turn that reads them)")
    ap.add_argument("--decision-weight", type=float, default=1.0, help="loss weight of the token after a "
                    "relation (the link's object or ` ?`), the tokens --decision-after lists")
    ap.add_argument("--decision-after", default="", help="token ids of the relations as the agent writes them "
                    "(` father`), separated by commas")
    ap.add_argument("--branch-repeats", default="", help="START,LATER: take each sample whose next link has a "
                    "subject its earlier tasks name under another relation this many times (make_data.py's "
                    "branch: at the task's first link, or after a resolved prefix)")
    ap.add_argument("--max-priors", type=int, default=0, help="keep only samples with at most N earlier tasks (lagvk "
                    "eval's --max-logs)")
    ap.add_argument("--init", type=Path, help="start from these saved weights (continue a run)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads or os.cpu_count() or 1)  # Debian's torch defaults to one thread
    rng = random.Random(a.seed)
    try:
        weights = {k: float(v) for k, v in (x.split("=") for x in a.modes.split(",") if x)} if a.modes else None
    except ValueError:
        sys.exit(f"train.py: --modes takes mode=weight pairs separated by commas, not '{a.modes}'")
    try:
        decision_after = frozenset(int(x) for x in a.decision_after.split(",") if x)
    except ValueError:
        sys.exit(f"train.py: --decision-after takes token ids separated by commas, not '{a.decision_after}'")
    if a.decision_weight != 1.0 and not decision_after:
        sys.exit("train.py: --decision-weight needs --decision-after (the relations' token ids)")
    try:
        start, later = (int(x) for x in a.branch_repeats.split(",")) if a.branch_repeats else (1, 1)
        if min(start, later) < 1:
            raise ValueError
    except ValueError:
        sys.exit(f"train.py: --branch-repeats takes two counts of at least 1, START,LATER (e.g. 6,3), not "
                 f"'{a.branch_repeats}'")
    missing = [f for f in ("samples.jsonl", "tokens.jsonl") if not (a.data / f).is_file()]
    if missing:
        sys.exit(f"train.py: {a.data} has no {' or '.join(missing)}; make them with make_data.py corpus and "
                 "lagvk tokenize --traces, as tools/train/train.sh does")
    corpus = Corpus(a.data, a.newline, a.max_len, weights, a.seed, a.task_only, a.first_turn_weight,
                    a.max_priors, decision_after, a.decision_weight, {"start": start, "later": later})
    cfg = Config(n_vocab=a.n_vocab, n_layers=a.layers, n_embd=a.dim, n_ff=a.ff)
    model = Model(cfg)
    if a.init:
        from check_export import load
        model.load_state_dict(load(a.init).state_dict())
        print(f"starting from {a.init}", flush=True)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {params / 1e6:.2f}M parameters, {len(corpus.samples)} samples, {torch.get_num_threads()} threads",
          flush=True)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98))
    warmup = 60
    t0 = time.time()
    log = []
    a.out.mkdir(parents=True, exist_ok=True)
    it = batches(corpus, a.batch, rng)
    for step in range(1, a.steps + 1):
        frac = min(1.0, (time.time() - t0) / (a.minutes * 60))
        progress = max(step / a.steps, frac)
        lr = a.lr * min(1.0, step / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        b = next(it)
        loss = loss_of(model, b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        log.append({"step": step, "loss": float(loss), "lr": lr, "seconds": round(time.time() - t0, 1),
                    "tokens": int(b[0].numel())})
        if step % 20 == 0 or step == 1:
            print(f"step {step}/{a.steps} loss {float(loss):.4f} lr {lr:.2e} {time.time() - t0:.0f}s", flush=True)
        if step % 200 == 0:
            model.save_weights(a.out)
        if frac >= 1.0:
            print(f"time limit reached after {step} steps", flush=True)
            break
        if step == a.stop_after:
            break
    model.save_weights(a.out)
    (a.out / "train_log.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(a).items()},
                                                       "parameters": params, "log": log}) + "\n")
    print(f"saved {a.out} after {len(log)} steps, {time.time() - t0:.0f}s, final loss {log[-1]['loss']:.4f}")


if __name__ == "__main__":
    main()
