"""ASHA search through real Ray Tune and MLflow: stopped trials keep their curves but are tagged and excluded,
the written choice follows the study's selection rule over complete trials, and {searched: EXP} plans from it."""
import re

import numpy as np
import pytest
import yaml
from helpers import study_config, suite
from mlflow.tracking import MlflowClient

from analysis.stats import expected_max
from pipelines.config import load
from pipelines.plan import make_plan
from pipelines.selection import stage_choices
from pipelines.tracking import load_runs


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    config = study_config(root)
    proc = suite(config, "search", "revisiting", "--experiment", "methods", "--profile", "smoke", "--tasks", "STS-B")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    client = MlflowClient(f"sqlite:///{root / 'runs' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("revisiting-smoke-search-methods")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    return root, config, out, client, runs


def test_asha_stops_some_trials_and_keeps_their_curves_out_of_statistics(searched):
    root, _, out, client, runs = searched
    stopped = int(re.search(r"search: 20 trials, (\d+) stopped early by ASHA, 0 failed", out).group(1))
    # STS-B at smoke scale: 20 grid points (Appendix H) x 1 seed; the intermediate arm needs MNLI (not shipped)
    assert len(runs) == 20
    early = [r for r in runs if r.data.tags.get("outcome") == "early_stopped"]
    full = [r for r in runs if r.info.status == "FINISHED"]
    assert len(early) == stopped >= 1 and len(full) == 20 - stopped >= 1
    for run in early:  # stopped at the first rung: one validation point kept, ended KILLED, no final metrics
        assert run.info.status == "KILLED" and run.data.tags["evaluations_reached"] == "1"
        assert len(client.get_metric_history(run.info.run_id, "val_spearman")) == 1
        assert "best_val_spearman" not in run.data.metrics
    for run in full:
        assert run.data.tags["outcome"] == "finished"
        assert len(client.get_metric_history(run.info.run_id, "val_spearman")) == 2
    report = (root / "runs" / "reports" / "revisiting-smoke-search-methods" / "report.md").read_text()
    values = [r.data.metrics["best_val_spearman"] for r in full]
    assert f"| STS-B | 20 | 20 | {len(full)} | {stopped} | 0 |" in report  # trials per rung
    assert f"| STS-B | {len(full)} | {expected_max(values, 1):.4f} | {expected_max(values, 3):.4f} |" in report
    assert (root / "runs" / "reports" / "revisiting-smoke-search-methods" / "figures" / "best_so_far.png").is_file()
    # The study's own store never sees search runs: its finished-runs frame is empty.
    plan = make_plan(load(searched[1]), "revisiting", "smoke", ["methods"])
    assert load_runs(load(searched[1]), plan).empty


def _point(run) -> tuple[str, dict]:
    """("llrd", {"lr_scale": 2.5, "llrd": 0.9}) from the run's arm tag and its name "STS-B s1 lr_scale=2.5 llrd=0.9"."""
    arm = run.data.tags["exp.methods"]
    return arm, {k: float(v) for k, v in re.findall(r"([a-z_]+)=([0-9.]+(?:e-?[0-9]+)?)", run.info.run_name)}


def test_choice_is_the_best_complete_mean_and_feeds_searched_settings(searched):
    root, config_path, _, _, runs = searched
    result = yaml.safe_load((root / "runs" / "search" / "revisiting-smoke-methods.yaml").read_text())
    best: dict[str, tuple[float, dict]] = {}  # arm -> (val, settings) over complete trials, first of equals
    for run in sorted(runs, key=lambda r: r.info.run_name):
        if run.info.status == "FINISHED":
            arm, settings = _point(run)
            if arm not in best or run.data.metrics["best_val_spearman"] > best[arm][0]:
                best[arm] = (run.data.metrics["best_val_spearman"], settings)
    chosen = result["choices"]["STS-B"]
    assert set(chosen) == set(best)  # an arm whose every trial was stopped has no choice
    for arm, (value, _) in best.items():
        assert chosen[arm]["mean_val"] == pytest.approx(value, abs=1e-6)
        assert chosen[arm]["complete_seeds"] == 1
    config = load(config_path)
    plan = make_plan(config, "revisiting", "smoke", ["methods"])
    choices = stage_choices(config, plan, load_runs(config, plan))
    later = make_plan(config, "revisiting", "smoke", ["methods_searched"], choices)
    if {"llrd", "mixout", "pretrained_wd", "weight_decay"} <= set(chosen):  # every arm chosen: STS-B is planned
        lr = config.profile("smoke", "revisiting")[1]["lr"]
        for member in later.experiments["methods_searched"]:
            if member.task == "STS-B":
                cfg = later.specs[member.trial_id].config
                want = chosen[member.arm]["settings"]
                assert {k: v for k, v in member.values} == want
                assert np.isclose(cfg.lr, lr * want.get("lr_scale", 1.0))
    else:  # waits for a search that chooses every arm, and says so
        assert "STS-B: planned from the ASHA search of methods" in later.pending["methods_searched"]


def test_search_of_an_experiment_without_a_space_is_one_line_error(tmp_path, capsys):
    from pipelines.cli import main
    code = main(["search", "revisiting", "--experiment", "reinit", "--profile", "smoke", "--config",
                 str(study_config(tmp_path))])
    assert code == 2
    assert capsys.readouterr().err.strip() == ("suite: error: experiment 'reinit' of paper 'revisiting' declares no "
                                               "search (searchable: methods)")
    assert not (tmp_path / "runs").exists()  # nothing written


def test_a_sampled_search_draws_the_same_grid_points_for_every_seed_and_every_rerun(tmp_path):
    """Kobyzev et al. Appendix D: 20 random points of batch x lr x alpha x T (384), not the whole grid."""
    from pipelines.search import search_plan

    def mutate(data):
        methods = data["papers"]["revisiting"]["experiments"]["methods"]
        methods["arms"] = {"llrd": {"batch_size": [8, 16, 32, 64], "lr": [9.0e-6, 1.0e-5, 2.0e-5, 3.0e-5],
                                    "llrd": [0.4, 0.5, 0.7, 0.8, 0.9, 0.95], "lr_scale": [1, 2, 5, 10]}}
        methods["select"] = ["batch_size", "lr", "llrd", "lr_scale"]
        methods["search"] = {"seeds": "search", "samples": 20, "sample_seed": 7}
        data["papers"]["revisiting"]["experiments"].pop("methods_searched")
        for profile in data["profiles"].values():  # the profiles narrow the arms this test replaced
            grids = profile.get("papers", {}).get("revisiting", {}).get("grids", {})
            for key in [k for k in grids if k.startswith("methods.")]:
                del grids[key]
            profile.get("papers", {}).get("revisiting", {}).get("skip", {}).pop("methods_searched", None)
    config = load(study_config(tmp_path, mutate))
    plan, settings = search_plan(config, "revisiting", "cpu", "methods", ["RTE"])
    members = plan.experiments["methods"]
    points = {m.values for m in members}
    assert len(points) == 20 and len(members) == 20 * 2 == len(plan.specs)  # 2 search seeds at the cpu profile
    assert all(sum(m.values == p for m in members) == 2 for p in points)  # each point with every seed
    again, _ = search_plan(config, "revisiting", "cpu", "methods", ["RTE"])
    assert {m.trial_id for m in again.experiments["methods"]} == {m.trial_id for m in members}
    spec = plan.specs[members[0].trial_id].config
    assert spec.batch_size == dict(members[0].values)["batch_size"]
    assert spec.lr == dict(members[0].values)["lr"] * dict(members[0].values)["lr_scale"]
