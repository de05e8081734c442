"""Does the labelreg `cpu` teacher beat its student? The profile's own teacher trials, at other lrs and seeds.

Kobyzev et al. distil "from a bigger model (a teacher) to a smaller model" (Sec. 1) that outscores it (Tables 1-5).
This trains the `teachers` experiment's TrainConfig (the study's trainer, one thread) for each --lr and --seed on
one task and prints validation and test accuracy; the students to compare with are the worked example's Finetune
runs (docs/papers/labelreg.md, "The teacher"). Rows are appended to --out as JSON; a row already there is skipped.

    .venv/bin/python -m bench.teacher_pilot --task SST-2 --lr 2e-4 --lr 1e-4 --lr 5e-5 --seed 42 --seed 549
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.teacher_pilot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="SST-2", help="a task of the labelreg cpu profile (default SST-2)")
    parser.add_argument("--lr", type=float, action="append", help="teacher lr (repeatable; default the profile's)")
    parser.add_argument("--seed", type=int, action="append", help="teacher seed (repeatable; default 42, the paper's)")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "teacher_pilot.jsonl")
    args = parser.parse_args(argv)

    import torch

    from pipelines.config import load, scratch_copy
    from pipelines.plan import make_plan
    from trainers.loop import train
    torch.set_num_threads(1)

    def mutate(data):  # the paper's teacher arm at each lr, its one teacher seed replaced by --seed
        paper = data["papers"]["labelreg"]
        paper["seeds"]["teacher"] = args.seed or [42]
        paper["experiments"]["teachers"]["arms"]["teacher"] = {"lr": args.lr} if args.lr else {}
        data["profiles"]["cpu"]["papers"]["labelreg"]["tasks"] = [args.task]

    with tempfile.TemporaryDirectory() as root:
        plan = make_plan(load(scratch_copy(Path(root), mutate)), "labelreg", "cpu", experiments=["teachers"])
    done = {json.loads(line)["trial_id"] for line in args.out.read_text().splitlines()} if args.out.exists() else set()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for tid, spec in sorted(plan.specs.items(), key=lambda kv: (kv[1].config.init_seed, -kv[1].config.lr)):
        c = spec.config
        if tid in done:
            continue
        start = time.perf_counter()
        m = train(c)["metrics"]
        row = {"trial_id": tid, "task": c.task, "model": c.model, "lr": c.lr, "seed": c.init_seed,
               "val": round(m["best_val"], 4), "test": round(m["test_at_best_val"], 4),
               "seconds": round(time.perf_counter() - start)}
        print(f"{c.task} teacher {c.model} lr {c.lr:g} seed {c.init_seed}: val {100 * row['val']:.1f}, "
              f"test {100 * row['test']:.1f} ({row['seconds']} s)", flush=True)
        with args.out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
