"""docs/benchmarks.md from the numbers of one `make bench` run (and the GPU runs kept beside it)."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

from bench.trainer import CONFIGS

TARGET_SPEEDUP, TARGET_EFFICIENCY, TARGET_MFU = 1.5, 0.85, 0.40
TARGET_MEMORY_GROWTH = 1.2  # a worker's RSS after any trial of a stage vs after its first
TARGET_KD_COST = 1.05  # a KD trial's training time vs a Finetune trial of the same student (teacher logits read)


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out + [""]


def _aggregate(rows: list[dict]) -> dict[str, float]:
    """Examples/s over the whole comparison: all examples trained / all seconds spent, per configuration."""
    examples, seconds = defaultdict(float), defaultdict(float)
    for r in rows:
        examples[r["config"]] += r["examples_per_s"] * r["seconds"]
        seconds[r["config"]] += r["seconds"]
    return {c: examples[c] / seconds[c] for c in examples}


def _paired(rows: list[dict], ours: str, theirs: str) -> tuple[int, float, float]:
    """Paired over (task, seed): mean validation difference and the paired t-test's p-value."""
    by = {(r["task"], r["seed"], r["config"]): r["val"] for r in rows}
    pairs = [(by[t, s, ours], by[t, s, theirs]) for (t, s, c) in by if c == ours and (t, s, theirs) in by]
    diff = np.array([a - b for a, b in pairs])
    p = float(stats.ttest_rel([a for a, _ in pairs], [b for _, b in pairs]).pvalue) if len(pairs) > 1 else float("nan")
    return len(pairs), float(diff.mean()) if len(diff) else float("nan"), p


def trainer_section(rows: list[dict], threads: int) -> tuple[list[str], dict]:
    configs = [c for c in CONFIGS if any(r["config"] == c for r in rows)]
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    speed = [[task] + [f"{np.mean([r['examples_per_s'] for r in rows if r['task'] == task and r['config'] == c]):.1f}"
                       for c in configs] for task in tasks]
    total = _aggregate(rows)
    speed.append(["**all tasks**"] + [f"**{total[c]:.1f}**" for c in configs])
    val = [[task] + [f"{np.mean([r['val'] for r in rows if r['task'] == task and r['config'] == c]):.3f}"
                     for c in configs] for task in tasks]
    ratios = {f"{ours} / {theirs}": total[ours] / total[theirs]
              for ours in ("ours length_grouped", "ours random") for theirs in configs if theirs.startswith("hf")}
    lines = [f"Training examples/s (mean over seeds; timed over the optimizer steps; {threads} thread, the cpu "
             "profile's setting: MiniLM-L6 truncated to 3 blocks, 256 examples, batch 16, length 48, 3 epochs):", ""]
    lines += _table(["task"] + configs, speed)
    lines += ["Speed-up (all tasks):", ""]
    lines += _table(["ratio", "x"], [[k, f"{v:.2f}"] for k, v in ratios.items()])
    lines += ["Validation metric of each final model (mean over seeds; same evaluation code for all):", ""]
    lines += _table(["task"] + configs, val)
    tests = []
    for ours in ("ours random", "ours length_grouped"):
        for theirs in ("hf dynamic", "hf pad-to-max"):
            n, diff, p = _paired(rows, ours, theirs)
            tests.append([f"{ours} vs {theirs}", n, f"{diff:+.3f}", f"{p:.2f}"])
    lines += ["Agreement (paired by task and seed; a paired t-test, scipy): a p-value above 0.05 finds no "
              "difference beyond seed noise.", ""]
    lines += _table(["comparison", "pairs", "mean difference", "p"], tests)
    return lines, ratios, total


def levers_section(levers: list[dict], total: dict, gpu: list[dict], kd: dict | None = None) -> list[str]:
    off, on = total["ours random"], total["ours length_grouped"]
    rows = [["length-grouped batches + dynamic padding", "the trainer comparison above, all tasks",
             f"{off:.1f} -> {on:.1f} examples/s", f"{on / off:.2f}x"]]
    for r in levers:
        rows.append([r["lever"], r["setting"], f"{r['off_s']:.3f}s -> {r['on_s']:.3f}s",
                     f"{r['off_s'] / r['on_s']:.2f}x"])
    for run in gpu:
        for lever in run.get("levers", []):
            rows.append([lever["lever"], f"{run['device']}, {lever['shape']} (run {lever['run']})",
                         f"{lever['off_ms']:.1f} -> {lever['on_ms']:.1f} ms/step",
                         f"{lever['off_ms'] / lever['on_ms']:.2f}x"])
        if run.get("weight_cache"):
            w = run["weight_cache"]
            rows.append(["workers keep loaded weights", f"{run['device']}, BERT-large to the GPU",
                         f"{w['from_pretrained_s']:.3f}s -> {w['kept_copy_s']:.3f}s",
                         f"{w['from_pretrained_s'] / w['kept_copy_s']:.2f}x"])
    if kd:  # off: a teacher forward every step, estimated as the measured teacher pass once per epoch's steps
        rows.append([kd["lever"], kd["setting"], f"KD {kd['kd_s']:.2f}s vs Finetune {kd['finetune_s']:.2f}s "
                     f"(+ one teacher pass of {kd['teacher_pass_s']:.2f}s)", f"{kd['finetune_s'] / kd['kd_s']:.2f}x "
                     f"Finetune's speed"])
    else:
        rows.append(["teacher logits computed once", "not measured in this run", "-", "not measured"])
    return _table(["lever", "measured on", "off -> on", "speed-up"], rows)


def self_teacher_section(r: dict) -> list[str]:
    """Each self-teacher's training time as a ratio to BASE's in the same run, and the window's memory."""
    base = r["seconds"]["BASE"]
    rows = [[name, f"{sec:.2f}s", f"{sec / base:.2f}x"] for name, sec in r["seconds"].items()]
    return [f"{r['setting']}; training seconds, median of the alternated repeats. A K-step window keeps K flat fp32 "
            f"copies of the parameters: {r['window_mb_per_step']:.0f} MB each (SDA(T-1) keeps one running mean).",
            ""] + _table(["arm", "training time", "vs BASE"], rows)


def study_section(s: dict) -> list[str]:
    rows = [["trials (experiment)", f"{s['trials']} ({s['experiment']}, {', '.join(s['tasks'])})"],
            ["concurrent slots", s["slots"]], ["wall time", f"{s['wall_s']:.1f}s"],
            ["trial training + evaluation time", f"{s['train_s'] + s['eval_s']:.1f}s"],
            ["**efficiency** (train + eval) / (wall x slots)", f"**{s['efficiency']:.1%}**"],
            ["optimizer steps only / (wall x slots)", f"{s['steps_only_efficiency']:.1%}"],
            ["overhead per trial (slot-seconds)", f"{s['overhead_per_trial_s']:.2f}s"],
            ["  of which outside the MLflow runs (Ray start, scheduling, worker start)",
             f"{s['outside_runs_per_trial_s']:.2f}s"],
            ["  of which inside them, outside training (model, tokens, logging)",
             f"{s['inside_runs_per_trial_s']:.2f}s"],
            ["driver start to the first trial's run", f"{s['until_first_trial_s']:.1f}s"],
            ["last trial's end to the driver's end", f"{s['after_last_trial_s']:.1f}s"]]
    return _table(["", ""], rows) + memory_section(s.get("worker_memory"))


def memory_section(m: dict | None) -> list[str]:
    if not m:
        return []
    return [f"Worker memory: {m['workers']} Ray workers ran {', '.join(map(str, m['trials_per_worker']))} trials. "
            f"RSS after the first trial {', '.join(f'{x:.0f}' for x in m['first_mb'])} MB, at most "
            f"{', '.join(f'{x:.0f}' for x in m['max_mb'])} MB later: **{m['max_growth']:.2f}x** at worst "
            f"(target <= {TARGET_MEMORY_GROWTH}x). After each trial the worker gives its freed heap back to the OS "
            f"(malloc_trim: {m['freed_per_trial_mb']:.0f} MB per trial on average); without it, glibc's per-thread "
            "arenas kept it and a worker grew ~20 MB per trial.", ""]


def gpu_section(run: dict) -> list[str]:
    lines = [f"**{run['device']}**, torch {run['torch']}, transformers {run.get('transformers', '?')}, "
             f"{run.get('date', '')}: bf16 matrix product measured at "
             f"{run['measured_bf16_matmul_flops'] / 1e12:.0f} TFLOP/s; MFU is against the datasheet's "
             f"{run['datasheet_bf16_flops'] / 1e12:.0f}. Command: `{run.get('command', 'python -m bench.gpu')}`.",
             "", run.get("note", ""), ""]
    rows = [[r.get("run", ""), r["size"], r["batch"], r["seq"], r["variant"], f"{r['step_s'] * 1e3:.1f}",
             f"{r['tokens_per_s']:,.0f}", f"{r['model_tflops']:.0f}", f"{r['mfu']:.1%}"] for r in run["rows"]]
    lines += _table(["run", "model", "batch", "length", "variant", "ms/step", "tokens/s", "TFLOP/s", "MFU"], rows)
    if run.get("trainer"):
        lines += ["Our trainer vs transformers.Trainer on this GPU (bf16, paraphrase-MiniLM-L3, batch 32, length 128, "
                  "1,000 examples, 3 epochs; each timed on its second run):", ""]
        lines += _table(["task", "config", "examples/s", "val"],
                        [[r["task"], r["config"], f"{r['examples_per_s']:.0f}", f"{r['val']:.3f}"]
                         for r in run["trainer"]])
    for prof in run.get("profiles", []):
        lines += [f"Where a step's GPU time goes ({prof['case']}, torch.profiler):", "", "```",
                  prof["table"].rstrip(), "```", ""]
    return lines


def render(results: dict, gpu_files: list[Path]) -> str:
    gpu = [json.loads(p.read_text(encoding="utf-8")) for p in gpu_files]
    m = results["machine"]
    trainer_lines, ratios, total = trainer_section(results["trainer"], results["threads"])
    s, a = results["study"], results["analysis"]
    mfu = max((r["mfu"] for run in gpu for r in run["rows"] if r["size"] == "bert-large" and r["mfu"]), default=None)
    verdict = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    targets = [["trainer examples/s vs transformers.Trainer (cpu profile)", f">= {TARGET_SPEEDUP}x",
                f"{ratios['ours length_grouped / hf dynamic']:.2f}x vs its default (dynamic padding); "
                f"{ratios['ours length_grouped / hf pad-to-max']:.2f}x vs run_glue's pad-to-max; "
                f"{ratios['ours length_grouped / hf group_by_length']:.2f}x vs its group_by_length",
                verdict(ratios["ours length_grouped / hf dynamic"] >= TARGET_SPEEDUP)],
               ["study efficiency (cpu profile)", f">= {TARGET_EFFICIENCY:.0%}", f"{s['efficiency']:.1%}",
                verdict(s["efficiency"] >= TARGET_EFFICIENCY)],
               ["worker RSS across a stage's trials", f"<= {TARGET_MEMORY_GROWTH}x its RSS after the first",
                f"{s['worker_memory']['max_growth']:.2f}x" if s.get("worker_memory") else "not measured",
                verdict(s["worker_memory"]["max_growth"] <= TARGET_MEMORY_GROWTH) if s.get("worker_memory")
                else "-"],
               ["KD trial vs Finetune trial, same student", f"<= {TARGET_KD_COST}x its time",
                f"{results['kd']['kd_s'] / results['kd']['finetune_s']:.2f}x" if results.get("kd") else "not measured",
                verdict(results["kd"]["kd_s"] / results["kd"]["finetune_s"] <= TARGET_KD_COST)
                if results.get("kd") else "-"],
               ["report rebuilt from runs", "(measured)", f"{a['rebuild_s']:.1f}s for {a['runs']} runs", "-"],
               ["BERT-large bf16 MFU", f">= {TARGET_MFU:.0%}", f"{mfu:.1%} (best shape)" if mfu else "no GPU run kept",
                verdict(mfu is not None and mfu >= TARGET_MFU) if mfu else "not measured"]]
    lines = ["# Benchmarks", "",
             f"Written by `{results['command']}` ({results['seconds'] / 60:.0f} min) on {m['cpu']}, "
             f"{m['cores']} cores, "
             f"Python {m['python']}, torch {m['torch']}, {m['date']}. Raw numbers: `docs/bench/cpu.json`; GPU runs: "
             "`docs/bench/gpu-*.json` (`python -m bench.gpu` on a CUDA machine). Ratios compare numbers from the same "
             "run on the same machine.", "", "## Targets", ""]
    lines += _table(["target", "goal", "reached", ""], targets)
    lines += ["## Trainer throughput: ours vs transformers.Trainer", ""] + trainer_lines
    lines += ["## Levers, each on/off", ""] + levers_section(results["levers"], total, gpu, results.get("kd"))
    lines += ["## Study efficiency", ""] + study_section(s)
    lines += ["## Analysis", "", f"Rebuilding the full revisiting report (every table, figure and claim of the paper "
              f"profile's plan) from {a['runs']} finished runs in a local MLflow store: **{a['rebuild_s']:.1f}s** "
              f"({a['tables']} LaTeX tables, {a['figures']} figures). Writing the runs took {a['seeding_s']:.0f}s.", ""]
    if results.get("self_teacher"):
        lines += ["## Self-distillation's teachers (Xu et al.)", ""] + self_teacher_section(results["self_teacher"])
    if results.get("cpu_profile"):
        lines += ["## Where a CPU training step's time goes", "", "```", results["cpu_profile"].rstrip(), "```", ""]
    for run in gpu:
        lines += ["## GPU: model FLOPs utilisation and GPU levers", ""] + gpu_section(run)
    return "\n".join(lines) + "\n"
