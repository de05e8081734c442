"""docs/benchmarks.md arithmetic: aggregate throughput, speed-ups, the paired agreement test and target verdicts."""
import pytest

from bench.report import _aggregate, _paired, render
from bench.trainer import CONFIGS

SPEED = {"ours random": 40.0, "ours length_grouped": 60.0, "hf pad-to-max": 30.0, "hf dynamic": 40.0,
         "hf group_by_length": 60.0}


def results():
    rows = []
    for task, scale in (("RTE", 1.0), ("CoLA", 2.0)):
        for seed in (1, 2):
            for config in CONFIGS:
                rows.append({"task": task, "seed": seed, "config": config, "seconds": 10.0 / scale,
                             "examples_per_s": SPEED[config] * scale, "val": 0.5 + 0.01 * seed})
    study = {"experiment": "bias_correction", "tasks": ["RTE"], "trials": 8, "slots": 2, "wall_s": 100.0,
             "train_s": 150.0, "eval_s": 20.0, "in_runs_s": 180.0, "efficiency": 0.85, "steps_only_efficiency": 0.75,
             "overhead_per_trial_s": 3.75, "outside_runs_per_trial_s": 2.5, "inside_runs_per_trial_s": 1.25,
             "failed": 0, "until_first_trial_s": 5.0, "after_last_trial_s": 1.0}
    return {"machine": {"cpu": "test cpu", "cores": 2, "python": "3.11", "torch": "2.13.0", "gpu": None,
                        "date": "2026-11-22"}, "threads": 1, "profile": "cpu", "command": "make bench",
            "trainer": rows, "study": study, "seconds": 60.0,
            "levers": [{"lever": "batched MLflow logging", "setting": "x", "off_s": 4.0, "on_s": 0.5}],
            "analysis": {"runs": 1000, "seeding_s": 100.0, "rebuild_s": 12.5, "figures": 18, "tables": 9}}


def test_aggregate_is_all_examples_over_all_seconds():
    rows = [{"config": "a", "examples_per_s": 10.0, "seconds": 1.0}, {"config": "a", "examples_per_s": 40.0,
                                                                      "seconds": 3.0}]
    assert _aggregate(rows) == {"a": (10.0 + 120.0) / 4.0}


def test_paired_agreement_uses_matching_task_and_seed():
    rows = [{"task": t, "seed": s, "config": c, "val": v} for t, s, c, v in
            [("RTE", 1, "x", 0.6), ("RTE", 1, "y", 0.5), ("RTE", 2, "x", 0.7), ("RTE", 2, "y", 0.7),
             ("CoLA", 1, "x", 0.2), ("CoLA", 1, "y", 0.0), ("CoLA", 2, "y", 0.9)]]
    n, diff, p = _paired(rows, "x", "y")
    assert n == 3 and abs(diff - 0.1) < 1e-12 and 0 < p < 1


def test_render_states_the_ratios_and_verdicts():
    page = render(results(), [])
    assert "| ours length_grouped / hf dynamic | 1.50 |" in page
    assert "| ours length_grouped / hf pad-to-max | 2.00 |" in page
    assert "| study efficiency (cpu profile) | >= 85% | 85.0% | met |" in page
    assert "| BERT-large bf16 MFU | >= 40% | no GPU run kept | not measured |" in page
    assert "| batched MLflow logging | x | 4.000s -> 0.500s | 8.00x |" in page
    assert "from 1000 finished runs in a local MLflow store: **12.5s**" in page


def test_worker_memory_growth_is_each_workers_worst_rss_over_its_first():
    from types import SimpleNamespace as NS

    from bench.study import worker_memory
    def run(pid, end, before, after):
        return NS(info=NS(end_time=end), data=NS(tags={"worker_pid": pid},
                                                  metrics={"worker_rss_untrimmed_mb": before, "worker_rss_mb": after}))
    runs = [run("1", 3, 760, 700), run("1", 1, 740, 700), run("2", 2, 610, 600), run("1", 5, 800, 770),
            run("2", 4, 650, 630)]
    m = worker_memory(runs)
    assert m["trials_per_worker"] == [3, 2] and m["first_mb"] == [700, 600] and m["max_mb"] == [770, 630]
    assert m["max_growth"] == 770 / 700 and m["freed_per_trial_mb"] == (40 + 60 + 30 + 10 + 20) / 5
    page = render({**results(), "study": {**results()["study"], "worker_memory": m}}, [])
    assert "| worker RSS across a stage's trials | <= 1.2x its RSS after the first | 1.10x | met |" in page


def test_kd_row_states_the_cost_ratio_and_the_target():
    data = results()
    page = render(data, [])
    assert "| KD trial vs Finetune trial, same student | <= 1.05x its time | not measured | - |" in page
    data["kd"] = {"lever": "teacher logits computed once", "setting": "MRPC", "finetune_s": 10.0, "kd_s": 10.4,
                  "teacher_pass_s": 3.0}
    page = render(data, [])
    assert "| KD trial vs Finetune trial, same student | <= 1.05x its time | 1.04x | met |" in page
    assert "KD 10.40s vs Finetune 10.00s (+ one teacher pass of 3.00s)" in page
    data["kd"]["kd_s"] = 11.0
    assert "| 1.10x | **missed** |" in render(data, [])


def signal_levers(today=(0.80, 0.82, 0.84, 0.81), levers=(0.81, 0.82, 0.83, 0.81), units=True) -> dict:
    """bench.signal_levers.measure's numbers: levered trials take half the wall time of today's."""
    rows = []
    for arm, values, wall in (("today", today, 100.0), ("levers", levers, 50.0)):
        for seed, val in enumerate(values, 1):
            rows.append({"arm": arm, "seed": seed, "precision": "fp32" if arm == "today" else "bf16", "pid": 1,
                         "order": 1 if seed == 1 else 2, "imports_s": 6.0 if seed == 1 else 0.0, "wall_s": wall,
                         "train_s": wall * 0.7, "eval_s": wall * 0.2, "steps": 96, "outcome": "finished",
                         "best_val": val, "val_last": val, "test_at_best_val": val, "evaluated": 1226})
    steps = [{"task": t, "variant": v, "steps": 16, "median_s": s, "speedup": 0.5 / s}
             for t in ("RTE", "CoLA") for v, s in (("fp32", 0.5), ("bf16, sdpa attention", 0.4),
                                                   ("bf16, eager attention", 0.25))]
    evals = [{"task": t, "precision": p, "batch": b, "seconds": s * (1 if b == 64 else 0.8), "validation": 100,
              "test": 100} for t in ("RTE", "CoLA") for p, s in (("fp32", 2.0), ("bf16", 1.0)) for b in (16, 64)]
    return {"date": "2026-12-05 11:00", "bf16_units": units, "levered_precision": "bf16",
            "machine": {"cpu": "Intel Xeon", "cores": 2, "torch": "2.13.0"}, "command": "python -m bench --levers-only",
            "uptime": "load average: 1.00, 1.00, 1.00", "steps": {"rows": steps, "load": [[1, 1, 1], [1, 1, 1]]},
            "eval": {"rows": evals, "default_batch": 64, "load": [[1, 1, 1], [1, 1, 1]]},
            "profiles": {"fp32": "table", "bf16": "table"},
            "trials": {"task": "MRPC", "metric": "f1", "train_examples": 512, "seeds": 4, "workers": 2,
                       "levers": "bf16", "rows": rows, "wall_s": 400.0, "load": [[1, 1, 1], [1, 1, 1]]},
            "signal_trial": {t: {"steps": 375, "evaluations": 4, "validation": 100, "test": 100}
                             for t in ("RTE", "CoLA")}}


def test_signal_levers_state_the_paired_interval_costs_and_trial_rate():
    from scipy import stats

    from bench.report import equal_verdict, full_trials, paired_metric, trial_costs
    data = signal_levers()
    p = paired_metric(data["trials"], "best_val")
    diffs = [0.01, 0.0, -0.01, 0.0]
    half = stats.t.ppf(0.975, 3) * stats.tstd(diffs) / 2
    assert p["diffs"] == pytest.approx(diffs) and p["mean"] == pytest.approx(0.0)
    assert (p["lo"], p["hi"]) == pytest.approx((-half, half))
    assert equal_verdict(p, 0.02).startswith("**equal within seed noise**")
    assert equal_verdict(p, 0.01).startswith("no difference found (the 95% interval contains 0)")
    costs = trial_costs(data["trials"])
    assert costs["ratio"] == 2.0 and costs["today"]["per_hour"] == 72
    assert costs["today"]["fixed_later_s"] == pytest.approx(10.0) and costs["today"]["imports_s"] == 6.0
    full = {(f["task"], f["arm"]): f for f in full_trials(data, costs)}
    rte = full["RTE", "today"]  # 375 x 0.5 s + (4 x 100 + 2 x 100) x 20 ms + 10 s
    assert rte["total_s"] == pytest.approx(187.5 + 12 + 10) and rte["eval_share"] == pytest.approx(12 / 209.5)
    assert rte["best_batch"] == 16 and rte["batch_save"] == pytest.approx(0.2 * 12 / 209.5)
    page = render({**results(), "signal_levers": data}, [])
    assert ("| signal trials per hour: every CPU lever on vs today's code | >= 2x (>= 1.5x with bf16 units) | "
            "2.00x (shortened trials, Intel Xeon); 2.00x composed for whole trials | met |") in page
    assert "measured separately, by `python -m bench --levers-only` on 2026-12-05 11:00 on Intel Xeon" in page
    assert "| RTE | bf16, eager attention | 0.250 | 2.00x | 16 |" in page
    slower = signal_levers()
    for row in slower["trials"]["rows"]:
        row["wall_s"] = 60.0 if row["arm"] == "levers" else row["wall_s"]
    page = render({**results(), "signal_levers": slower}, [])
    assert "| 1.67x (shortened trials, Intel Xeon); " in page and "| **missed** (the 1.5x floor met) |" in page
