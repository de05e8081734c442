"""What a user sees around the studies: `suite plan` totals (shared trials once, every blocked row says why),
`all` papers, the quiet terminal with an honest ETA, and the index of every report."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from pipelines.cli import main
from pipelines.config import load
from pipelines.driver import Progress
from pipelines.plan import PlanTotals, describe, describe_suite, make_plan, trial_hours
from reports.index import VERDICTS, not_run_reasons, write_index


def test_plan_totals_count_shared_trials_once_and_say_why_rows_cannot_run(capsys):
    config = load()
    plan = make_plan(config, "revisiting", "paper")
    _, profile = config.profile("paper", "revisiting")
    text, totals = describe(plan, profile)
    every = {s.trial_id: s for s in plan.unique()} | {s.trial_id: s for e in plan.estimates.values() for s in e}
    rows = sum(len(plan.ids(n)) + len(plan.estimates.get(n, [])) for n in plan.stages)
    assert totals.unique == len(every) == 7274 < rows == 8846  # the rows count shared trials in each experiment
    assert abs(totals.hours - sum(trial_hours(s.config, profile) for s in every.values())) < 1e-9
    assert (totals.runnable, totals.runnable_hours) == (0, 0.0)  # BERT-large is not offline
    mnli = next(line for line in text.splitlines() if line.startswith("mnli_full"))
    assert "not runnable here: 6 trials, data/glue/MNLI/train.tsv" in mnli
    assert f"Total for revisiting: 7,274 unique trials ({totals.hours:,.1f} GPU-hours), 0 runnable here" in text
    assert main(["plan", "all", "--profile", "paper"]) == 0
    assert "Total for revisiting: 7,274 unique trials" in capsys.readouterr().out


def test_gpu_hours_follow_the_gpu_share_and_cpu_plans_give_wall_time():
    config = load()
    _, profile = config.profile("paper", "revisiting")
    cfg = make_plan(config, "revisiting", "paper", ["bias_correction"]).unique()[0].config
    quarter = dataclasses.replace(profile, resources={"cpus_per_trial": 1, "gpus_per_trial": 0.25})
    assert abs(trial_hours(cfg, quarter) * 4 - trial_hours(cfg, profile)) < 1e-12
    _, cpu = config.profile("cpu", "revisiting")
    text, totals = describe(make_plan(config, "revisiting", "cpu", ["bias_correction"]), cpu)
    assert totals.unique == totals.runnable == 32 and totals.unit == "CPU-hours"
    assert "h wall on this machine" in text


def test_suite_totals_add_papers():
    a = PlanTotals("a", 10, 4, 2.5, 1.0, "GPU-hours")
    b = PlanTotals("b", 5, 5, 1.5, 1.5, "GPU-hours")
    last = describe_suite([a, b], "paper").splitlines()[-1].split()
    assert last == ["all", "papers", "15", "9", "4.0", "2.5"]


def test_all_refuses_a_single_papers_experiments(capsys):
    assert main(["plan", "all", "--experiments", "reinit"]) == 2
    assert "--experiments names one paper's experiments" in capsys.readouterr().err


def test_eta_is_the_mean_trial_time_times_rounds_left():
    lines = []
    progress = Progress(total=5, out=lines.append, slots=2)
    progress.finished("RTE s1", {"time_total_s": 30.0, "import_seconds": 20.0}, "done")  # 10 s of own work
    assert progress.eta() == 10.0 * 2  # 4 left on 2 slots: two rounds
    progress.finished("RTE s2", {"time_total_s": 20.0}, "done")
    assert progress.eta() == 15.0 * 2  # 3 left: still two rounds (the last one half full)
    assert lines[-1].startswith("[2/5] ") and "ETA 0m30s | RTE s2: done" in lines[-1]
    for _ in range(3):
        progress.finished("x", {}, "FAILED")  # a failed trial has no duration; the count still moves
    assert progress.eta() == 0.0 and lines[-1].startswith("[5/5]")


def test_quiet_terminal_keeps_our_lines_and_logs_everything_else(tmp_path):
    log = tmp_path / "logs" / "study.log"
    child = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from pipelines.terminal import QuietTerminal\n"
        f"with QuietTerminal(Path({str(log)!r})) as quiet:\n"
        "    print('Ray box')\n"
        "    os.write(1, b'from C\\n')\n"
        "    print('a warning', file=sys.stderr)\n"
        "    quiet.line('[1/2] ours')\n"
        "print('after')\n")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[1/2] ours\nafter\n" and done.stderr == ""
    text = log.read_text()
    assert "Ray box" in text and "from C" in text and "a warning" in text and "ours" not in text


def test_index_counts_coverage_and_verdicts(tmp_path):
    config = load()
    plan = make_plan(config, "revisiting", "smoke", ["bias_correction", "precision"])
    import pandas as pd
    first = plan.unique()[0].trial_id
    failed_id = plan.unique()[1].trial_id
    planned, finished, reasons = not_run_reasons(plan, pd.DataFrame({"trial_id": [first]}), {failed_id: "boom"})
    # 2 tasks x 2 arms x 2 seeds, and precision's 8 skipped stand-ins, whose fp32 half is bias_correction's AdamW:
    # a trial that another experiment runs is not skipped
    assert (planned, finished) == (8 + 4, 1)
    assert reasons == {"failed: boom": 1, "not run yet (rerun `make reproduce`)": 6,
                       "skipped at profile smoke: fp16 mixed precision needs a CUDA GPU": 4}
    folder = tmp_path / "revisiting-smoke"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({
        "paper": "revisiting", "profile": "smoke", "planned": 12, "finished": 1, "not_run": dict(reasons),
        "verdicts": dict(zip(VERDICTS, (1, 2, 3, 1))), "report": "revisiting-smoke/report.md"}))
    text = write_index(tmp_path).read_text()
    row = next(line for line in text.splitlines() if line.startswith("| revisiting"))
    assert row.startswith("| revisiting | smoke | 1 / 12 | 1 failed: boom; 6 not run yet (rerun `make reproduce`); "
                          "4 skipped at profile smoke: fp16")
    assert row.endswith("| 1 | 2 | 3 | 1 | [report](revisiting-smoke/report.md) |")


def test_a_study_prints_our_lines_only_and_indexes_its_report(study):
    config, runs, first = study
    for noise in ("╭", "View detailed results", "tensorboard", "INFO mlflow"):
        assert noise not in first.stdout and noise not in first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("revisiting/smoke: 80 trials planned in 3 stage(s), 40 of them runnable here: ")
    log = Path(lines[0].split("Ray's own output goes to ")[1])  # one log per command (a rerun writes its own)
    assert log.parent == runs / "logs" and log.name.startswith("revisiting-smoke-")
    assert "Configuration for experiment" in log.read_text()
    assert [line.split(":")[0] for line in lines if line.startswith("stage ")] == ["stage 0", "stage 1", "stage 2"]
    assert any(line.startswith("[41/41] ") for line in lines)  # the count grows to the stages' real size
    index = (runs / "reports" / "index.md").read_text()
    assert "| revisiting | smoke | 41 / 81 |" in index and "[report](revisiting-smoke/report.md)" in index
