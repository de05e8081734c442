"""`make bench`: measure the trainer, the levers, a study and the report stage side by side in one run, then write
docs/benchmarks.md (with the machine it ran on) and the raw numbers beside it.

python -m bench [--seeds N] [--quick] [--out docs]
python -m bench --levers-only    # the CPU levers at the signal profile alone (~10 min), merged into bench/cpu.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TASKS = ("RTE", "MRPC", "STS-B", "CoLA")


def machine() -> dict:
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "date": time.strftime("%Y-%m-%d")}


def write_page(out: Path, results: dict) -> Path:
    """benchmarks.md from one run's numbers and every GPU run kept in bench/."""
    from bench.report import render
    page = out / "benchmarks.md"
    page.write_text(render(results, sorted((out / "bench").glob("gpu-*.json"))), encoding="utf-8")
    return page


def _signal_threads() -> int:
    from pipelines.config import load
    return int(load().profile("signal", "revisiting")[1].resources["cpus_per_trial"])


def levers_only(out: Path, seeds: int) -> int:
    """The signal profile's CPU levers alone: measured, merged into bench/cpu.json (the other sections keep the run
    that measured them; the page says which command and date measured each), and the page rewritten."""
    import torch

    from bench import signal_levers
    torch.set_num_threads(_signal_threads())  # one thread per trial, as the profile runs them
    print("CPU levers at the signal profile", flush=True)
    measured = {**signal_levers.measure(seeds), "machine": machine(), "command": "python -m bench --levers-only"}
    raw = out / "bench" / "cpu.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(raw.read_text(encoding="utf-8")) if raw.is_file() else {}
    results["signal_levers"] = measured
    raw.write_text(json.dumps(results, indent=1), encoding="utf-8")
    if "trainer" not in results:
        print(f"written: {raw} (no full `make bench` run in it yet: run one for benchmarks.md)")
        return 0
    print(f"written: {write_page(out, results)} (raw numbers: {raw}) in {measured['seconds'] / 60:.1f} min")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="seeds per task in the trainer comparison (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="one seed, two tasks, a smaller study and 200 runs for the report (minutes)")
    parser.add_argument("--out", default=str(REPO / "docs"), help="where benchmarks.md and bench/ go")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: rewrite benchmarks.md from bench/cpu.json and bench/gpu-*.json")
    parser.add_argument("--levers-only", action="store_true",
                        help="only the CPU levers at the signal profile (bf16, evaluation, per-trial costs, trials per "
                             "hour; bench.signal_levers), merged into bench/cpu.json and the page")
    parser.add_argument("--lever-seeds", type=int, default=4,
                        help="seeds of the paired shortened signal trials (default 4)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.render:
        raw = out / "bench" / "cpu.json"
        if not raw.is_file():
            print(f"bench: {raw} does not exist; run `make bench` first", file=sys.stderr)
            return 2
        print(f"written: {write_page(out, json.loads(raw.read_text(encoding='utf-8')))}")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    from bench import analysis, levers, signal_levers, study, trainer
    from pipelines.config import load
    if args.levers_only:
        return levers_only(out, args.lever_seeds)
    _, profile = load().profile("cpu", "revisiting")
    threads = int(profile["resources"]["cpus_per_trial"])
    torch.set_num_threads(threads)  # the cpu profile's trials run on this many threads each
    seeds, tasks = (1, TASKS[2:]) if args.quick else (args.seeds, TASKS)
    results = {"machine": machine(), "threads": threads, "profile": "cpu", "command": "make bench"
               + (" BENCH_ARGS=--quick" if args.quick else "")}
    start = time.perf_counter()
    print(f"[1/5] trainer vs transformers.Trainer: {len(tasks)} tasks x {seeds} seed(s), {threads} thread(s)",
          flush=True)
    results["trainer"] = [row for cfg in trainer.planned_trials(tasks, seeds) for row in trainer.compare(cfg)]
    print("[2/5] levers on/off", flush=True)
    results["levers"] = [levers.token_cache(), levers.weight_cache(profile["model"], profile["num_layers"]),
                         levers.mlflow_batching()]
    results["cpu_profile"] = levers.cpu_step_profile(profile)
    for row in results["levers"]:
        print(f"  {row['lever']}: off {row['off_s']:.3f}s, on {row['on_s']:.3f}s", flush=True)
    results["kd"] = levers.teacher_logits(profile)
    print(f"  KD trial {results['kd']['kd_s']:.2f}s vs Finetune {results['kd']['finetune_s']:.2f}s", flush=True)
    results["self_teacher"] = levers.self_teacher()
    print("  self-teachers: " + ", ".join(f"{k} {v:.2f}s" for k, v in results["self_teacher"]["seconds"].items()),
          flush=True)
    print("[3/5] study efficiency (Ray Tune + MLflow, cpu profile)", flush=True)
    results["study"] = study.measure(tasks=TASKS[2:] if args.quick else TASKS)
    print(f"  {results['study']['trials']} trials: efficiency {results['study']['efficiency']:.1%}", flush=True)
    runs = 200 if args.quick else 1000
    print(f"[4/5] report rebuilt from {runs} runs", flush=True)
    results["analysis"] = analysis.measure(runs)
    print(f"  {results['analysis']['rebuild_s']:.1f}s", flush=True)
    print("[5/5] CPU levers at the signal profile", flush=True)
    torch.set_num_threads(_signal_threads())
    results["signal_levers"] = {**signal_levers.measure(2 if args.quick else args.lever_seeds),
                                "machine": results["machine"],
                                "command": results["command"]}
    results["seconds"] = time.perf_counter() - start
    (out / "bench").mkdir(parents=True, exist_ok=True)
    raw = out / "bench" / "cpu.json"
    raw.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"written: {write_page(out, results)} (raw numbers: {raw}) in {results['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
