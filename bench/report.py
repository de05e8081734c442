"""docs/benchmarks.md from the numbers of one `make bench` run (and the GPU runs kept beside it)."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

from bench.signal_levers import MARGIN
from bench.trainer import CONFIGS

TARGET_SPEEDUP, TARGET_EFFICIENCY, TARGET_MFU = 1.5, 0.85, 0.40
TARGET_MEMORY_GROWTH = 1.2  # a worker's RSS after any trial of a stage vs after its first
TARGET_KD_COST = 1.05  # a KD trial's training time vs a Finetune trial of the same student (teacher logits read)
# signal trials per hour, every lever on vs today's code (issue 28): 2x, and at least 1.5x on a CPU with bf16 units
TARGET_SIGNAL_RATE, TARGET_SIGNAL_RATE_FLOOR = 2.0, 1.5


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


def t_interval(diffs) -> tuple[float, float, float]:
    """Mean of paired differences and its two-sided 95% t interval (scipy)."""
    d = np.asarray(diffs, dtype=float)
    if len(d) < 2:
        return float(d.mean()) if len(d) else float("nan"), float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return float(d.mean()), float(d.mean()) - half, float(d.mean()) + half


def paired_metric(trials: dict, key: str) -> dict:
    """The levered trial minus today's, seed by seed, for one metric."""
    by = {(r["seed"], r["arm"]): r[key] for r in trials["rows"]}
    seeds = sorted({seed for seed, _ in by if (seed, "today") in by and (seed, "levers") in by})
    diffs = [by[s, "levers"] - by[s, "today"] for s in seeds]
    mean, lo, hi = t_interval(diffs)
    today = [by[s, "today"] for s in seeds]
    return {"n": len(diffs), "mean": mean, "lo": lo, "hi": hi, "diffs": diffs,
            "today_mean": float(np.mean(today)) if today else float("nan"),
            "today_sd": float(np.std(today, ddof=1)) if len(today) > 1 else float("nan")}


def equal_verdict(p: dict, margin: float) -> str:
    if p["n"] < 2:
        return "too few seeds for an interval"
    if not any(p["diffs"]):
        return "**equal**: identical on every seed"
    if -margin <= p["lo"] and p["hi"] <= margin:
        return f"**equal within seed noise**: the 95% interval lies inside +-{margin:g}"
    if p["lo"] <= 0 <= p["hi"]:
        return (f"no difference found (the 95% interval contains 0), but it reaches past +-{margin:g}: "
                "not shown equal at that margin")
    return "**they differ**: the 95% interval excludes 0"


def trial_costs(trials: dict) -> dict:
    """Per arm: mean wall seconds of a trial (imports apart), its evaluation share, trials per hour on the workers,
    and each trial's fixed cost (wall - training - evaluation): a worker's first trial vs its later ones."""
    out = {}
    for arm in ("today", "levers"):
        rows = [r for r in trials["rows"] if r["arm"] == arm]
        if not rows:
            continue
        wall = [r["wall_s"] for r in rows]
        fixed = [r["wall_s"] - r["train_s"] - r["eval_s"] for r in rows]
        out[arm] = {"wall_s": float(np.mean(wall)), "sum_s": float(np.sum(wall)),
                    "eval_share": sum(r["eval_s"] for r in rows) / sum(wall),
                    "per_hour": trials["workers"] * 3600 / float(np.mean(wall)),
                    "step_s": sum(r["train_s"] for r in rows) / sum(r["steps"] for r in rows),
                    "eval_per_example_s": sum(r["eval_s"] for r in rows) / sum(r["evaluated"] for r in rows),
                    "fixed_later_s": float(np.median([f for f, r in zip(fixed, rows) if r["order"] > 1] or [np.nan])),
                    "fixed_first_s": float(np.median([f for f, r in zip(fixed, rows) if r["order"] == 1] or [np.nan])),
                    "imports_s": float(np.median([r["imports_s"] for r in rows if r["order"] == 1] or [np.nan]))}
    if "today" in out and "levers" in out:
        out["ratio"] = out["today"]["sum_s"] / out["levers"]["sum_s"]
    return out


def _step_s(r: dict, task: str, variant: str) -> float | None:
    return next((row["median_s"] for row in r["steps"]["rows"] if row["task"] == task and row["variant"] == variant),
                None)


def _eval_s(r: dict, task: str, precision: str, batch: int) -> float | None:
    """Seconds per evaluated example of a validation pass."""
    return next((row["seconds"] / row["validation"] for row in r["eval"]["rows"]
                 if row["task"] == task and row["precision"] == precision and row["batch"] == batch), None)


def full_trials(r: dict, costs: dict) -> list[dict]:
    """A whole signal trial of each task, composed from this run's measured parts: steps x the median step,
    (evaluations x validation + 2 x test) examples x the evaluation seconds per example at the trainer's batch, and
    a later trial's fixed cost. Today: fp32; levers: the levered precision (bf16 with eager attention)."""
    levered = "bf16, eager attention" if r["levered_precision"] == "bf16" else "fp32"
    batch = r["eval"]["default_batch"]
    rows = []
    for task, shape in r.get("signal_trial", {}).items():
        for arm, variant, precision in (("today", "fp32", "fp32"), ("levers", levered, r["levered_precision"])):
            step, per_example = _step_s(r, task, variant), _eval_s(r, task, precision, batch)
            if step is None or per_example is None or arm not in costs:
                continue
            evaluated = shape["evaluations"] * shape["validation"] + 2 * shape["test"]
            train, evals, fixed = shape["steps"] * step, evaluated * per_example, costs[arm]["fixed_later_s"]
            total = train + evals + fixed
            batches = {b: _eval_s(r, task, precision, b) for b in sorted({x["batch"] for x in r["eval"]["rows"]})}
            best = min(batches, key=lambda b: batches[b])
            rows.append({"task": task, "arm": arm, "train_s": train, "eval_s": evals, "fixed_s": fixed,
                         "total_s": total, "eval_share": evals / total,
                         "two_evals_save": 2 * shape["validation"] * per_example / total,
                         "best_batch": best, "batch_save": (per_example - batches[best]) * evaluated / total})
    return rows


def _load(pair) -> str:
    return f"{pair[0][0]:.1f} -> {pair[1][0]:.1f}"


def signal_levers_section(r: dict) -> list[str]:
    m, trials = r["machine"], r["trials"]
    costs = trial_costs(trials)
    lines = [f"Measured by `{r['command']}` on {r['date']}: {m['cpu']}, {m['cores']} cores, torch {m['torch']}; "
             f"bf16 matrix units (/proc/cpuinfo amx_bf16 or avx512_bf16): **{'yes' if r['bf16_units'] else 'no'}**, "
             f"so `precision: auto` means **{r['levered_precision']}** here. `uptime` at the end: `{r['uptime']}`; "
             "each table gives the 1-minute load average before -> after it (2 cores: above 2 means other work "
             "shared them). The signal profile's settings: all-MiniLM-L6-v2 (6 blocks), length 128, batch 16, "
             "length-grouped batches, lr 5e-5, one thread per trial.", ""]
    rows = [[row["task"], row["variant"], f"{row['median_s']:.3f}", f"{row['speedup']:.2f}x", row["steps"]]
            for row in r["steps"]["rows"]]
    lines += [f"**Seconds per training step** (the trainer's step: collate, forward-backward, clipping, AdamW), the "
              f"variants alternated step by step on the same batches of a signal trial; the median over steps and the "
              f"median of the per-step ratios to fp32 (load {_load(r['steps']['load'])}):", ""]
    lines += _table(["task", "variant", "s/step", "vs fp32", "steps"], rows)
    lines += ["bf16 autocast runs the matrix products on the bf16 units; with `scaled_dot_product_attention` its "
              "backward (the flash kernel for CPU) is the slowest op of a bf16 step, so a bf16 trial on a CPU runs "
              "eager attention (`trainers.execution.cpu_bf16_attention`, `SUITE_CPU_EAGER_ATTENTION=0` turns it off). "
              "How a profile picks its precision (`precision: auto`), and why a bf16 trial is another trial than an "
              "fp32 one: [operations.md](operations.md#precision).", ""]
    for key, name in (("best_val", "best validation metric"), ("test_at_best_val", "test metric at the best "
                                                                                    "validation")):
        p = paired_metric(trials, key)
        if key == "best_val":
            lines += [f"**Metrics, paired by seed**: {p['n']} seeds of a shortened signal trial ({trials['task']}, "
                      f"{trials['train_examples']} training examples, 3 epochs, 4 evaluations on the whole validation "
                      f"half; metric: {trials.get('metric', '?')}), every lever on ({trials['levers']}) minus today's code "
                      f"(fp32). Margin for \"equal\": +-{MARGIN:g} on the metric's 0-1 scale.", ""]
            table = []
        table.append([name, p["n"], f"{p['today_mean']:.3f} (sd {p['today_sd']:.3f})",
                      ", ".join(f"{d:+.3f}" for d in p["diffs"]), f"{p['mean']:+.3f}",
                      f"[{p['lo']:+.3f}, {p['hi']:+.3f}]", equal_verdict(p, MARGIN)])
    lines += _table(["metric", "pairs", "today: mean (sd over seeds)", "differences", "mean", "95% t interval",
                     "verdict"], table)
    lines += _eval_lines(r, costs)
    lines += _trial_lines(r, costs)
    for precision, table in r.get("profiles", {}).items():
        lines += [f"Where a signal training step's time goes in {precision} (torch.profiler, RTE, 4 steps"
                  f"{', eager attention' if precision == 'bf16' else ''}):", "", "```", table.rstrip(), "```", ""]
    return lines


def _eval_lines(r: dict, costs: dict) -> list[str]:
    rows = []
    for task in dict.fromkeys(x["task"] for x in r["eval"]["rows"]):
        for precision in dict.fromkeys(x["precision"] for x in r["eval"]["rows"]):
            cells = [f"{_eval_s(r, task, precision, b) * 1e3:.1f}" for b in sorted({x["batch"] for x in
                                                                                 r["eval"]["rows"]})]
            rows.append([task, precision] + cells)
    batches = sorted({x["batch"] for x in r["eval"]["rows"]})
    lines = [f"**Evaluation**: milliseconds per validation example, the whole validation half at each evaluation batch "
             f"(the trainer's is {r['eval']['default_batch']}; load {_load(r['eval']['load'])}):", ""]
    lines += _table(["task", "precision"] + [f"batch {b}" for b in batches], rows)
    return lines


def _trial_lines(r: dict, costs: dict) -> list[str]:
    trials = r["trials"]
    lines = [f"**Shortened signal trials** through `trainers.loop.train` ({trials['seeds']} seeds x 2 arms, "
             f"{trials['workers']} worker processes of one thread each, as the profile runs two trials at a time; "
             f"{trials['wall_s'] / 60:.1f} min, load {_load(trials['load'])}). A trial's fixed cost is its wall time "
             "less training and evaluation (model build, tokens, setup); a worker's first trial also imports torch "
             "and transformers.", ""]
    rows = []
    for arm, label in (("today", "today's code (fp32)"), ("levers", f"every lever on ({trials['levers']})")):
        if arm in costs:
            c = costs[arm]
            rows.append([label, f"{c['wall_s']:.1f}", f"{c['step_s']:.3f}", f"{c['eval_per_example_s'] * 1e3:.1f}",
                         f"{c['eval_share']:.1%}", f"{c['imports_s']:.1f} + {c['fixed_first_s']:.1f}",
                         f"{c['fixed_later_s']:.1f}", f"{c['per_hour']:.0f}"])
    lines += _table(["arm", "trial s", "s/step", "eval ms/example", "eval share", "first trial: imports + fixed s",
                     "later trials: fixed s", "trials/hour (2 slots)"], rows)
    if "ratio" in costs:
        lines += [f"**Trials per hour, every lever on vs today's code: {costs['ratio']:.2f}x** (the shortened trials "
                  "above, same seeds and shortening for both).", ""]
    full = full_trials(r, costs)
    if full:
        rows = [[f["task"], f["arm"], f"{f['train_s']:.0f}", f"{f['eval_s']:.1f}", f"{f['fixed_s']:.1f}",
                 f"{f['total_s']:.0f}", f"{f['eval_share']:.1%}", f"{f['two_evals_save']:.1%}",
                 f"{f['batch_save']:.1%} (batch {f['best_batch']})"] for f in full]
        lines += ["A whole signal trial (375 steps, 4 evaluations, 2 test passes), composed from the parts measured "
                  "above (the step table's medians, the evaluation table at the trainer's batch, a later trial's fixed "
                  "cost): the share of its time in evaluation, and what 2 evaluations instead of 4, or the fastest "
                  "evaluation batch measured, would save of it.", ""]
        lines += _table(["task", "arm", "training s", "evaluation s", "fixed s", "trial s", "eval share",
                         "2 evaluations save", "eval batch saves"], rows)
        total = {arm: sum(f["total_s"] for f in full if f["arm"] == arm) for arm in ("today", "levers")}
        tasks = list(dict.fromkeys(f["task"] for f in full))
        if total["levers"]:
            lines += [f"Over {', '.join(tasks)}, one trial each (the signal profile plans equal trials per task): "
                      f"**{total['today'] / total['levers']:.2f}x** the trials per hour of today's code (composed from "
                      "the parts, not one run's wall time).", ""]
    return lines


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


def _signal_target(r: dict | None) -> list:
    goal = f">= {TARGET_SIGNAL_RATE:g}x (>= {TARGET_SIGNAL_RATE_FLOOR:g}x with bf16 units)"
    name = "signal trials per hour: every CPU lever on vs today's code"
    costs = trial_costs(r["trials"]) if r else {}
    if "ratio" not in costs:
        return [name, goal, "not measured", "-"]
    ratio = costs["ratio"]
    full = full_trials(r, costs)
    composed = {arm: sum(f["total_s"] for f in full if f["arm"] == arm) for arm in ("today", "levers")}
    also = f"; {composed['today'] / composed['levers']:.2f}x composed for whole trials" if composed["levers"] else ""
    verdict = ("met" if ratio >= TARGET_SIGNAL_RATE else f"**missed** (the {TARGET_SIGNAL_RATE_FLOOR:g}x floor met)"
               if ratio >= TARGET_SIGNAL_RATE_FLOOR and r["bf16_units"] else "**missed**")
    return [name, goal, f"{ratio:.2f}x (shortened trials, {r['machine']['cpu']}){also}", verdict]


def _separate_run(results: dict) -> str:
    r = results.get("signal_levers")
    if not r or r.get("command") == results.get("command"):
        return ""
    return (f" The section \"CPU levers at the signal profile\" (and its target row) was measured separately, by "
            f"`{r['command']}` on {r['date']} on {r['machine']['cpu']}, {r['machine']['cores']} cores; the other "
            f"sections by `{results['command']}` on {results['machine']['date']}.")


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
               _signal_target(results.get("signal_levers")),
               ["report rebuilt from runs", "(measured)", f"{a['rebuild_s']:.1f}s for {a['runs']} runs", "-"],
               ["BERT-large bf16 MFU", f">= {TARGET_MFU:.0%}", f"{mfu:.1%} (best shape)" if mfu else "no GPU run kept",
                verdict(mfu is not None and mfu >= TARGET_MFU) if mfu else "not measured"]]
    lines = ["# Benchmarks", "",
             f"Written by `{results['command']}` ({results['seconds'] / 60:.0f} min) on {m['cpu']}, "
             f"{m['cores']} cores, "
             f"Python {m['python']}, torch {m['torch']}, {m['date']}. Raw numbers: `docs/bench/cpu.json`; GPU runs: "
             "`docs/bench/gpu-*.json` (`python -m bench.gpu` on a CUDA machine). Ratios compare numbers from the same "
             "run on the same machine." + _separate_run(results), "", "## Targets", ""]
    lines += _table(["target", "goal", "reached", ""], targets)
    lines += ["## Trainer throughput: ours vs transformers.Trainer", ""] + trainer_lines
    lines += ["## Levers, each on/off", ""] + levers_section(results["levers"], total, gpu, results.get("kd"))
    lines += ["## Study efficiency", ""] + study_section(s)
    lines += ["## Analysis", "", f"Rebuilding the full revisiting report (every table, figure and claim of the paper "
              f"profile's plan) from {a['runs']} finished runs in a local MLflow store: **{a['rebuild_s']:.1f}s** "
              f"({a['tables']} LaTeX tables, {a['figures']} figures). Writing the runs took {a['seeding_s']:.0f}s.", ""]
    if results.get("self_teacher"):
        lines += ["## Self-distillation's teachers (Xu et al.)", ""] + self_teacher_section(results["self_teacher"])
    if results.get("signal_levers"):
        lines += ["## CPU levers at the signal profile: precision, evaluation, per-trial costs", ""]
        lines += signal_levers_section(results["signal_levers"])
    if results.get("cpu_profile"):
        lines += ["## Where a CPU training step's time goes", "", "```", results["cpu_profile"].rstrip(), "```", ""]
    for run in gpu:
        lines += ["## GPU: model FLOPs utilisation and GPU levers", ""] + gpu_section(run)
    return "\n".join(lines) + "\n"
