"""A report's data, shipped beside its report.md as ``data/``: what the report read from MLflow, so that
``suite report PAPER --runs FOLDER`` rebuilds the same report, byte for byte, without an MLflow store.

A report built from MLflow reads its inputs through a ``Recorder``, which wraps the store's readers and keeps what
every call returned; after rendering, ``Recorder.write`` puts them in ``data/``. ``load_bundle`` reads them back,
and the ``Bundle`` it returns stands in for the readers (and copies its files into the rebuilt report's ``data/``).

Weights are never shipped. A number a report computes from them (Xu et al.'s AVG: the averaged weights' test score)
goes through ``ReportContext.derive(key, compute)``: computed and kept when built from MLflow, read back when rebuilt.
The rebuild still reads suite.yaml, the published numbers and the offline data files (test labels), as the original
build did; the manifest names the commit that built it.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from pipelines.config import ConfigError

DATA = "data"  # the folder beside report.md
MANIFEST = "manifest.json"
RUNS, FAILED, CURVES, OUTPUTS, DERIVED = "runs.csv.gz", "failed.json", "curves.json.gz", "outputs.npz", "derived.json"
FILES = {
    RUNS: "the runs frame the report read: one row per finished trial (run_id, end_time, tags, p.<param>, final "
          "metrics); missing values are \\N, column types in manifest.json's runs_dtypes",
    FAILED: "{trial id: last error line} of the trials that failed on every attempt",
    CURVES: "{metric: {trial id: [[step, value], ...]}}: the metric histories the figures read",
    OUTPUTS: "<run id>/<name>: the saved final logits (predictions) the ensembles read; no weights",
    DERIVED: "{key: value}: numbers the report computed from what is not shipped (avg <ids>: the test score of "
             "the members' averaged weights, Xu et al.'s AVG)",
    MANIFEST: "this file: the paper, profile and experiments, the search choices the plan read, the plan's digest, "
              "the commit that built the report",
}
NA = "\\N"  # a missing value in runs.csv.gz (an empty text is a value)
WEIGHTS = "state"  # read_outputs' key for a run's weights: never recorded
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # outputs.npz's entries carry no build time: the same runs give the same bytes


class BundleError(ConfigError):
    """A missing or malformed data folder, or one that lacks what the report asks for: a one-line error."""


def plan_digest(plan) -> str:
    """What the plan trains, in 16 hex digits: a rebuild planned from another suite.yaml or code differs."""
    ids = {name: [m.trial_id for m in members] for name, members in sorted(plan.experiments.items())}
    text = json.dumps({"experiments": ids, "pending": sorted(plan.pending), "skipped": sorted(plan.skipped)},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), mtime=0)  # no time in the header


def _runs_csv(runs: pd.DataFrame) -> str:
    return runs.to_csv(index=False, na_rep=NA, lineterminator="\n")


def _read_runs(data: bytes, dtypes: dict[str, str]) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(data), dtype=dtypes, keep_default_na=False, na_values=[NA])  # floats: exact
    if list(frame.columns) != list(dtypes):
        raise ValueError("its columns differ from the manifest's runs_dtypes")
    return frame


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez with fixed entry times (np.savez stamps each entry with the time it was written)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asarray(array), allow_pickle=False)


def _plain(value):
    """A derived value as the bundle gives it back (JSON's types), so both builds compute from the same value."""
    return json.loads(json.dumps(value))


class Recorder:
    """Wraps a report build's MLflow readers (``load_curves``, ``read_outputs``) and keeps every call's result."""

    def __init__(self, load_curves: Callable[[dict, str], dict], read_outputs: Callable[[str, bool], dict]):
        self._load_curves, self._read_outputs = load_curves, read_outputs
        self.curves: dict[str, dict[str, list]] = {}
        self.outputs: dict[str, dict[str, np.ndarray]] = {}
        self.derived: dict[str, object] = {}

    def load_curves(self, run_ids: dict[str, str], key: str) -> dict:
        found = self._load_curves(run_ids, key)
        self.curves.setdefault(key, {}).update(found)
        return found

    def read_outputs(self, run_id: str, weights: bool = False) -> dict:
        out = self._read_outputs(run_id, weights)
        self.outputs.setdefault(run_id, {}).update({k: np.array(v) for k, v in out.items() if k != WEIGHTS})
        return out

    def derive(self, key: str, compute: Callable[[], object]):
        if key not in self.derived:
            self.derived[key] = _plain(compute())
        return self.derived[key]

    def write(self, folder: Path, runs: pd.DataFrame, failed: dict, manifest: dict) -> None:
        """data/: the runs frame, failed trials, curves, outputs and derived numbers, and the manifest."""
        text, dtypes = _runs_csv(runs), {c: str(d) for c, d in runs.dtypes.items()}
        try:
            pd.testing.assert_frame_equal(_read_runs(text.encode("utf-8"), dtypes), runs, check_exact=True)
        except AssertionError as exc:  # the promise is a byte-identical rebuild: say which column breaks it
            raise ValueError(f"{RUNS}: the runs frame does not read back as written: "
                             f"{' '.join(str(exc).split())[:300]}") from None
        folder.mkdir()
        (folder / RUNS).write_bytes(_gzip(text))
        (folder / FAILED).write_text(json.dumps(failed, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        curves = {key: {t: [[int(s), float(v)] for s, v in points] for t, points in sorted(by_trial.items())}
                  for key, by_trial in sorted(self.curves.items())}
        (folder / CURVES).write_bytes(_gzip(json.dumps(curves, separators=(",", ":")) + "\n"))
        _write_npz(folder / OUTPUTS, {f"{run}/{name}": array for run, arrays in sorted(self.outputs.items())
                                      for name, array in arrays.items()})
        (folder / DERIVED).write_text(json.dumps(self.derived, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        manifest = {**manifest, "files": FILES, "runs_dtypes": dtypes}  # in the frame's column order
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


@dataclass
class Bundle:
    """A report's data folder, read whole: the runs frame and failed trials, and readers that answer the report's
    calls from the recorded results (never MLflow)."""
    folder: Path
    manifest: dict
    runs: pd.DataFrame
    failed: dict[str, str]
    curves: dict[str, dict[str, list]]
    outputs: dict[str, dict[str, np.ndarray]]
    derived: dict[str, object]

    @property
    def paper(self) -> str:
        return self.manifest["paper"]

    @property
    def profile(self) -> str:
        return self.manifest["profile"]

    @property
    def experiments(self) -> list[str] | None:
        return self.manifest["experiments"]

    @property
    def searched(self) -> dict:
        """The search choices the plan read ({("search:EXP", task, arm): settings}, pipelines.search)."""
        return {(exp, task, arm): settings for exp, task, arm, settings in self.manifest["searched"]}

    def _missing(self, what: str) -> BundleError:
        return BundleError(f"{self.folder}: holds no {what}; the report asks for more than the build that wrote "
                           f"it read (built by commit {self.manifest.get('commit', 'unknown')})")

    def load_curves(self, run_ids: dict[str, str], key: str) -> dict:
        recorded = self.curves.get(key, {})
        if set(run_ids) - set(recorded):
            raise self._missing(f"{key} curve for trial {sorted(set(run_ids) - set(recorded))[0]}")
        return {t: [(int(s), float(v)) for s, v in recorded[t]] for t in run_ids}

    def read_outputs(self, run_id: str, weights: bool = False) -> dict:
        if weights:
            raise self._missing(f"weights (run {run_id}): a report's data ships logits and derived numbers only")
        if run_id not in self.outputs:
            raise self._missing(f"outputs of run {run_id}")
        return {k: v.copy() for k, v in self.outputs[run_id].items()}

    def derive(self, key: str, compute: Callable[[], object]):
        if key not in self.derived:
            raise self._missing(f"derived number {key!r}")
        return self.derived[key]

    def write(self, folder: Path, runs: pd.DataFrame, failed: dict, manifest: dict) -> None:
        """The rebuilt report's data/: this folder's files as they are (the original build's commit included)."""
        folder.mkdir()
        for name in FILES:
            shutil.copyfile(self.folder / name, folder / name)


def _one_line(exc: Exception) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def load_bundle(path: str | Path) -> Bundle:
    """The data folder at ``path`` (a report folder or its data/ folder), read and checked whole before anything is
    written; a missing or malformed one is a BundleError naming the file."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise BundleError(f"--runs {path}: no such folder (give a report folder or its {DATA}/ folder)")
    folder = path if (path / MANIFEST).is_file() else path / DATA
    if not (folder / MANIFEST).is_file():
        raise BundleError(f"--runs {path}: no {DATA}/{MANIFEST} there: not a report folder written by `suite report` "
                          f"(reports built before data folders have none: rebuild it from MLflow first)")
    folder = folder.resolve()
    current = folder / MANIFEST
    try:
        manifest = json.loads(current.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("expected a JSON object")
        for key in ("paper", "profile", "experiments", "searched", "runs_dtypes"):
            if key not in manifest:
                raise ValueError(f"no {key!r} key")
        missing = [name for name in FILES if not (folder / name).is_file()]
        if missing:
            raise BundleError(f"{folder / missing[0]}: missing from the report's data folder")
        current = folder / RUNS
        runs = _read_runs(gzip.decompress(current.read_bytes()), manifest["runs_dtypes"])
        current = folder / FAILED
        failed = json.loads(current.read_text(encoding="utf-8"))
        current = folder / CURVES
        curves = json.loads(gzip.decompress(current.read_bytes()))
        current = folder / OUTPUTS
        outputs: dict[str, dict[str, np.ndarray]] = {}
        with np.load(current, allow_pickle=False) as data:
            for name in data.files:
                run, _, key = name.partition("/")
                outputs.setdefault(run, {})[key] = data[name]
        current = folder / DERIVED
        derived = json.loads(current.read_text(encoding="utf-8"))
        if not all(isinstance(x, dict) for x in (manifest["runs_dtypes"], failed, curves, derived)):
            raise ValueError("expected a JSON object")
    except BundleError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, pd.errors.ParserError) as exc:
        raise BundleError(f"{current}: cannot read it ({_one_line(exc)})") from None
    return Bundle(folder, manifest, runs, failed, curves, outputs, derived)
