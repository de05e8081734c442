"""docs/benchmarks.md arithmetic: aggregate throughput, speed-ups, the paired agreement test and target verdicts."""
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
