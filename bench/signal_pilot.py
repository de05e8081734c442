"""Where does Standard fine-tuning leave the majority baseline? One seed per setting, full-depth MiniLM-L6.

The `cpu` profile (3 blocks, 256 examples, length 48) leaves RTE, MRPC and CoLA at the majority baseline in every
arm, so the paper's claims carry no signal there. This pilot trains Standard fine-tuning (debiased AdamW, the
suite's own trainer: warm-up + linear decay, clipping, E evaluations, test at the best validation point) over a
ladder of training-set sizes, lengths, epochs and learning rates, and prints per setting the validation and test
metric beside the majority baseline of the same split, and the seconds it took (one thread). The `signal`
profile in suite.yaml is sized from its numbers (docs/papers/revisiting.md, "Signal").

    .venv/bin/python -m bench.signal_pilot                      # the default ladder: ~35 min on one quiet core
    .venv/bin/python -m bench.signal_pilot --config RTE:1000:128:3:5e-5 --config CoLA:512:64:3:1e-4
    .venv/bin/python -m bench.signal_pilot --render runs/signal_pilot.jsonl   # the table of earlier rows
    .venv/bin/python -m bench.signal_pilot --layers 3 --warmup 0 --config SST-5:1000:64:5:1e-4 --random-init ...

The label-regularization paper's `cpu` profile is sized the same way: its student (--layers 3, --random-init for
Tables 7-9) and teacher (all blocks) on its tasks; FewRel's split follows --seed (Kobyzev et al. Appendix B.1).

A config is TASK:EXAMPLES:LENGTH:EPOCHS:LR (EXAMPLES 'full' = the whole train file). Each finished row is also
appended as JSON to --out (default runs/signal_pilot.jsonl), so a long pilot can be polled and resumed: a config
already in that file is not trained again.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MODEL = "all-MiniLM-L6-v2"

# The ladder the "Signal" table of docs/papers/revisiting.md came from, in the order it ran: the cheap CoLA first, then the smallest
# sizes that could work for MRPC and RTE, then larger sizes where a task stayed at its baseline.
DEFAULT = [
    "CoLA:1000:64:3:1e-4", "MRPC:512:128:3:1e-4", "RTE:512:128:3:1e-4", "CoLA:2000:64:3:1e-4",
    "RTE:1000:128:3:1e-4", "RTE:2000:128:3:1e-4", "CoLA:2000:64:3:5e-5", "MRPC:1000:128:3:1e-4",
    "RTE:2000:128:3:5e-5", "MRPC:2000:128:3:5e-5",
]


def parse(config: str) -> dict:
    try:
        task, examples, length, epochs, lr = config.split(":")
        return {"task": task, "examples": None if examples == "full" else int(examples), "length": int(length),
                "epochs": float(epochs), "lr": float(lr)}
    except ValueError:
        raise SystemExit(f"signal_pilot: bad --config {config!r} (expected TASK:EXAMPLES:LENGTH:EPOCHS:LR)") from None


def key(row: dict) -> tuple:
    return (row["task"], row["examples"], row["length"], row["epochs"], row["lr"], row["batch_size"],
            row["eval_examples"], row["seed"], row["evaluations"], row.get("layers"), row.get("random_init", False),
            row.get("warmup", 0.1), row.get("model", MODEL), row.get("head_lr"), row.get("self_teacher"),
            row.get("teacher_k"))


def baselines(task: str, examples, eval_examples, seed: int = 1) -> tuple[float, float]:
    """Majority-class score (all-positive F1 for MRPC, MCC 0 for CoLA, a constant's Spearman 0 for STS-B) on our
    validation and test splits: what the report kit calls degenerate."""
    from trainers.tasks import get_task, load_splits, split_seed
    from trainers.metrics import majority_baseline
    info = get_task(task)
    splits = load_splits(task, examples, eval_examples, False, split_seed(task, seed))
    return tuple(majority_baseline(info.metric, np.asarray(splits[s].labels), info.is_regression)
                 for s in ("validation", "test"))


def run_one(spec: dict, args) -> dict:
    import torch

    from trainers.config import TrainConfig
    from trainers.loop import train
    torch.set_num_threads(args.threads)
    cfg = TrainConfig(task=spec["task"], model=args.model, num_layers=args.layers, optimizer="adamw", lr=spec["lr"],
                      batch_size=args.batch_size, epochs=spec["epochs"], warmup_ratio=args.warmup, max_grad_norm=1.0,
                      weight_decay=0.0, adam_epsilon=1e-6, max_seq_len=spec["length"], batching=args.batching,
                      evaluations=args.evaluations, train_examples=spec["examples"],
                      eval_examples=args.eval_examples, init_seed=args.seed, data_seed=args.seed,
                      random_init=args.random_init, head_lr=args.head_lr, self_teacher=args.self_teacher,
                      teacher_k=args.teacher_k, objective="sd" if args.self_teacher else "ce")
    t0, c0 = time.perf_counter(), time.process_time()
    result = train(cfg)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    m = result["metrics"]
    base_val, base_test = baselines(spec["task"], spec["examples"], args.eval_examples, args.seed)
    val_n, test_n = eval_sizes(spec["task"], args.eval_examples, args.seed)
    evaluated = val_n * len(result["curves"]["val_metric"]) + test_n * (1 if m["best_step"] == m["steps"] else 2)
    return {**spec, "examples": spec["examples"], "train_examples": m["train_examples"],
            "batch_size": args.batch_size, "eval_examples": args.eval_examples, "seed": args.seed,
            "evaluations": args.evaluations, "outcome": result["outcome"], "val": m["best_val"],
            "test": m["test_at_best_val"], "val_last": m["val_last"], "test_last": m["test_last"],
            "base_val": base_val, "base_test": base_test, "steps": m["steps"], "seconds": seconds,
            "cpu_seconds": cpu_seconds, "load": os.getloadavg()[0],
            "train_seconds": m["train_seconds"], "eval_seconds": m["eval_seconds"],
            "s_per_step": m["train_seconds"] / max(1, m["steps"]),
            "s_per_eval_example": m["eval_seconds"] / max(1, evaluated), "threads": args.threads,
            "layers": args.layers, "random_init": args.random_init, "warmup": args.warmup,
            "model": args.model, **_sd_args(args)}


def _sd_args(args) -> dict:
    """Xu et al.'s settings of a row, only when given (earlier rows keep their keys)."""
    return {k: v for k, v in (("head_lr", args.head_lr), ("self_teacher", args.self_teacher),
                              ("teacher_k", args.teacher_k)) if v is not None}


def eval_sizes(task: str, eval_examples, seed: int = 1) -> tuple[int, int]:
    from trainers.tasks import load_splits, split_seed
    splits = load_splits(task, None, eval_examples, False, split_seed(task, seed))
    return len(splits["validation"]), len(splits["test"])


def verdict(row: dict) -> str:
    """'signal' when both the best validation and its test score beat the majority baseline."""
    above = row["val"] > row["base_val"] + 1e-9 and row["test"] > row["base_test"] + 1e-9
    return "signal" if above else "baseline"


def cpu_per_step(row: dict) -> float:
    """Seconds of this process's CPU per training step: the wall time of a step scaled by CPU / wall over the trial,
    so a machine shared with other work (load above 1 per core) does not inflate it."""
    return row["s_per_step"] * min(1.0, row["cpu_seconds"] / row["seconds"])


def table(rows: list[dict]) -> str:
    head = (f"{'task':<6} {'init':>6} {'examples':>8} {'length':>6} {'epochs':>6} {'lr':>7} {'val':>6} {'test':>6} "
            f"{'baseline':>13} {'last':>11} {'seconds':>8} {'cpu s/step':>10} {'verdict':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        n = "full" if r["examples"] is None else str(r["examples"])
        init = "random" if r.get("random_init") else f"{r.get('layers') or 'all'}blk"
        init = init if r.get("model", MODEL) == MODEL else f"L3 {init}"
        if r.get("self_teacher"):
            init += f" {r['self_teacher']}{r.get('teacher_k') or 'T-1'}"
        lines.append(f"{r['task']:<6} {init:>6} {n:>8} {r['length']:>6} {r['epochs']:>6g} {r['lr']:>7.0e} "
                     f"{100 * r['val']:>6.1f} {100 * r['test']:>6.1f} "
                     f"{100 * r['base_val']:>6.1f}/{100 * r['base_test']:<6.1f} "
                     f"{100 * r['val_last']:>5.1f}/{100 * r['test_last']:<5.1f} {r['seconds']:>8.0f} "
                     f"{cpu_per_step(r):>10.2f} {verdict(r):>8}")
    lines.append("val: best validation over the evaluations; test: at that point (the suite's test_at_best_val); "
                 "baseline: majority class on val/test (MRPC: F1 of all-positive; CoLA: MCC 0; STS-B: 0); last: val/test "
                 "at the last step; seconds: wall; "
                 "cpu s/step: CPU seconds per training step.")
    return "\n".join(lines)


def read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.signal_pilot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", action="append", help="TASK:EXAMPLES:LENGTH:EPOCHS:LR (repeatable)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batching", default="length_grouped", choices=("random", "length_grouped"))
    parser.add_argument("--evaluations", type=int, default=4)
    parser.add_argument("--eval-examples", type=lambda v: None if v in ("null", "none") else int(v), default=None,
                        help="cap on validation and test sizes (default: the whole halves of the dev set)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", default=MODEL, help=f"an offline checkpoint (default {MODEL})")
    parser.add_argument("--layers", type=int, default=None, help="keep the first N blocks (default: all)")
    parser.add_argument("--random-init", action="store_true", help="fresh weights, no pre-training")
    parser.add_argument("--warmup", type=float, default=0.1, help="warm-up ratio (default 0.1)")
    parser.add_argument("--head-lr", type=float, default=None, help="the classifier layer's own lr (Xu et al.: 1e-3)")
    parser.add_argument("--self-teacher", choices=("sda", "sdv"), default=None,
                        help="self-distillation (Xu et al.): CE + MSE to the run's own averaged teacher")
    parser.add_argument("--teacher-k", type=int, default=None, help="the self-teacher's window (default: all steps)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "signal_pilot.jsonl")
    parser.add_argument("--render", type=Path, help="print the table of a JSONL file of earlier rows and exit")
    args = parser.parse_args(argv)
    if args.render:
        print(table(read(args.render)))
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    done = {key(r): r for r in read(args.out)}
    rows = []
    for config in args.config or DEFAULT:
        spec = parse(config)
        probe = {**spec, "batch_size": args.batch_size, "eval_examples": args.eval_examples, "seed": args.seed,
                 "evaluations": args.evaluations, "layers": args.layers, "random_init": args.random_init,
                 "warmup": args.warmup, "model": args.model, **_sd_args(args)}
        row = done.get(key(probe))
        if row is None:
            row = run_one(spec, args)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
        rows.append(row)
        print(table([row]).splitlines()[2], flush=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
