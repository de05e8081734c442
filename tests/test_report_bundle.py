"""A report ships the data it read beside report.md (data/: the runs frame, failed trials, curves, the ensembles'
logits, numbers derived from weights; never weights), and `suite report PAPER --runs PATH` rebuilds the same
report from them, byte for byte, without MLflow. Reads the session's smoke studies (tests/conftest.py)."""
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipelines import tracking
from pipelines.cli import main
from reports.bundle import FILES, NA, Recorder, load_bundle

# revisiting: curves and a plan with stages chosen from the runs; selfdistill: logits and AVG (weights); the minbert
# ensembles: a multitask run's per-task predictions
PAPERS = ("revisiting", "selfdistill", "minbert-generalization")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _elsewhere(config: Path, root: Path) -> Path:
    """The study's suite.yaml with its runs folder moved to ``root/runs`` (empty: no MLflow store there)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["runs_dir"] = str(root / "runs")
    path = root / "suite.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _no_mlflow(*_, **__):
    raise AssertionError("a report rebuilt from its data read MLflow")


@pytest.mark.parametrize("paper", PAPERS)
def test_report_ships_its_data_and_rebuilds_from_it_byte_for_byte(smoke_studies, paper, tmp_path, monkeypatch):
    config, runs_dir, _ = smoke_studies[paper]
    folder = runs_dir / "reports" / f"{paper}-smoke"
    data = folder / "data"
    assert sorted(p.name for p in data.iterdir()) == sorted(FILES)
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["paper"], manifest["profile"]) == (paper, "smoke") and manifest["commit"]
    # no weights: the logits and predictions only, and far less than one smoke model's 12 MB of embeddings
    with np.load(data / "outputs.npz", allow_pickle=False) as arrays:
        names = {name.partition("/")[2] for name in arrays.files}
    assert bool(names) == (paper != "revisiting") and not {n for n in names if n == "state" or "weight" in n}
    assert sum(len(b) for b in _files(data).values()) < 500_000
    if paper == "selfdistill":
        assert names == {"val_logits", "test_logits"}
        derived = json.loads((data / "derived.json").read_text(encoding="utf-8"))
        assert derived and all(k.startswith("avg ") and 0 <= v <= 1 for k, v in derived.items())
    for name in ("load_runs", "load_failed", "metric_histories", "read_outputs"):
        monkeypatch.setattr(tracking, name, _no_mlflow)
    other = _elsewhere(config, tmp_path)
    given = data if paper == "selfdistill" else folder  # the data folder, or the report folder holding it
    assert main(["report", paper, "--runs", str(given), "--config", str(other)]) == 0
    rebuilt = tmp_path / "runs" / "reports" / f"{paper}-smoke"
    assert _files(rebuilt) == _files(folder)  # report.md, tables, figures, report.tex, summary.json and data/
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["reports"]  # no MLflow store made


def test_a_bad_runs_path_is_a_one_line_error_and_writes_nothing(smoke_studies, tmp_path, capsys):
    config, runs_dir, _ = smoke_studies["selfdistill"]
    source = runs_dir / "reports" / "selfdistill-smoke"
    other = _elsewhere(config, tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(source / "data", broken / "data")
    (broken / "data" / "runs.csv.gz").write_bytes(b"not gzip")
    lacking = tmp_path / "lacking"
    shutil.copytree(source / "data", lacking)
    (lacking / "derived.json").write_text("{}\n", encoding="utf-8")  # AVG's scores gone: the report asks for them
    cases = [("selfdistill", tmp_path / "none", "no such folder"),
             ("selfdistill", tmp_path, "no data/manifest.json there"),
             ("selfdistill", broken, "runs.csv.gz: cannot read it (BadGzipFile"),
             ("labelreg", source, "holds the data of the selfdistill-smoke report, not labelreg-smoke"),
             ("selfdistill", lacking, "holds no derived number 'avg ")]
    for paper, path, message in cases:
        assert main(["report", paper, "--runs", str(path), "--config", str(other)]) == 2, path
        err = capsys.readouterr().err
        assert err.startswith("suite: error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs" / "reports").glob("selfdistill-*"))


def test_runs_frame_reads_back_exactly(tmp_path):
    """Texts that look like missing values or numbers, empty texts, NaN, infinities and full float precision."""
    runs = pd.DataFrame({"run_id": ["a", "b", "c"], "end_time": [3, 1, 2],
                         "tag": ["", "nan", "line\nbreak, \"quoted\""], "p.lr": ["1e-05", None, "NA"],
                         "best_val": [0.1 + 0.2, math.nan, -math.inf], "steps": [1.0, 2.0, 1e300]})
    recorder = Recorder(lambda run_ids, key: {t: [(1, 0.5), (2, math.nan)] for t in run_ids},
                        lambda run_id, weights=False: {"test_logits": np.arange(4.0).reshape(2, 2),
                                                       **({"state": {"w": 1}} if weights else {})})
    recorder.load_curves({"t1": "a"}, "val_metric")
    recorder.read_outputs("a", True)
    assert recorder.derive("avg t1", lambda: np.float64(0.25)) == 0.25
    recorder.write(tmp_path / "data", runs, {"t9": "boom"}, {"paper": "p", "profile": "smoke", "experiments": None,
                                                             "searched": [["search:x", "RTE", "kd", {"lr": 1}]]})
    bundle = load_bundle(tmp_path)
    pd.testing.assert_frame_equal(bundle.runs, runs, check_exact=True)
    assert NA not in set(bundle.runs["p.lr"].dropna())
    assert bundle.failed == {"t9": "boom"} and bundle.searched == {("search:x", "RTE", "kd"): {"lr": 1}}
    curve = bundle.load_curves({"t1": "a"}, "val_metric")["t1"]
    assert curve[0] == (1, 0.5) and math.isnan(curve[1][1])
    assert set(bundle.read_outputs("a")) == {"test_logits"}  # the weights read with the logits are not kept
    assert bundle.derive("avg t1", _no_mlflow) == 0.25
