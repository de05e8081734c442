"""Model selection by mean validation performance (Sec. 5-7), shared by the planner and the report.

An experiment's `select` keys are chosen per (task, arm and the arm's other grid values) as the grid point with
the highest mean best-validation score over its finished seeds; ties go to the first point in declared order.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.plan import Plan, make_plan
from pipelines.search_results import search_choices
from pipelines.tracking import load_runs

METRICS = ["outcome", "best_val", "test_at_best_val", "val_last", "test_last", "train_seconds", "steps",
           "se_val", "se_test"]  # se_*: Xu et al.'s SE, the run's weights averaged over its steps
# the multitask trainer's per-task scores at the kept epoch (and the last), and its mean teacher's and SWA's
METRICS += [f"{model}{split}_{part}" for model in ("", "teacher_", "swa_") for split in ("val", "test")
            for part in ("sst", "para", "sts")] + [f"test_last_{part}" for part in ("sst", "para", "sts")]


def members_frame(plan: Plan, experiment: str, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per planned trial of the experiment: task column, raw task, arm, settings, seeds and final
    metrics (NaN until it finishes); ``finished`` marks rows with a finished run."""
    rows = []
    for m in plan.experiments.get(experiment, []):
        spec = plan.specs[m.trial_id]
        rows.append({"trial_id": m.trial_id, "task": m.task, "raw_task": spec.config.task, "arm": m.arm,
                     "settings": m.values, "init_seed": m.init_seed, "data_seed": m.data_seed,
                     "seed": m.init_seed if m.init_seed == m.data_seed else None})
    planned = pd.DataFrame(rows)
    if planned.empty:
        return pd.DataFrame(columns=["trial_id", "task", "raw_task", "arm", "settings", "init_seed", "data_seed",
                                     "seed", *METRICS, "finished"])
    frame = planned.merge(runs.reindex(columns=["trial_id", *METRICS]), on="trial_id", how="left")
    frame["finished"] = frame["outcome"].notna()
    return frame


def choose(frame: pd.DataFrame, select: list[str], metric: str = "best_val") -> pd.DataFrame:
    """Per (task, arm, kept settings): the selected settings with the best mean validation (``metric``: the best
    evaluation's, or ``val_last`` for papers that report the last step).

    Returns one row per group: task, raw_task, arm, ``key`` (the kept settings: grid keys not in ``select``),
    ``choice`` (the chosen settings), ``settings`` (the chosen grid point, as in the frame), ``mean_val`` and
    ``n`` (finished seeds there), ``covered`` (every grid point has a finished run: only then is it final)."""
    out = []
    for (task, arm), group in frame.groupby(["task", "arm"], sort=False):
        scores: dict[tuple, list[float]] = {}  # grid point -> finished best_val, in plan order
        for point, finished, value in zip(group["settings"], group["finished"], group[metric]):
            scores.setdefault(point, []).extend([value] if finished else [])
        kept = [k for k, _ in next(iter(scores)) if k not in select and len({dict(p)[k] for p in scores}) > 1]
        by_kept: dict[tuple, list[tuple]] = {}
        for point in scores:
            by_kept.setdefault(tuple(dict(point)[k] for k in kept), []).append(point)
        for kept_values, points in by_kept.items():
            means = {p: float(np.mean(scores[p])) if scores[p] else -np.inf for p in points}
            best = max(points, key=means.get)  # the first of equals: ties go to the declared order
            out.append({"task": task, "raw_task": group["raw_task"].iloc[0], "arm": arm,
                        "key": dict(zip(kept, kept_values)),
                        "choice": {k: v for k, v in best if k in select}, "settings": best,
                        "mean_val": means[best], "n": len(scores[best]), "covered": all(scores[p] for p in points)})
    return pd.DataFrame(out, columns=["task", "raw_task", "arm", "key", "choice", "settings", "mean_val", "n",
                                      "covered"])


def stage_choices(config, plan: Plan, runs: pd.DataFrame, searched: dict | None = None) -> dict:
    """{(experiment, raw task, arm): {setting: value}} for every planned experiment with `select`, where each
    grid point has finished runs (the driver runs a stage to the end before planning the next), plus the
    written ASHA search results as ("search:EXP", raw task, arm) (``searched``: those, given instead)."""
    declared = config.paper(plan.paper)["experiments"]
    out = {}
    for name in plan.experiments:
        select = declared[name].get("select")
        if not select:
            continue
        frame = members_frame(plan, name, runs)
        for row in choose(frame, select).itertuples():
            if row.covered and not row.key:
                out[(name, row.raw_task, row.arm)] = row.choice
    # {searched: EXP}: written by `suite search`
    out.update(search_choices(config, plan.paper, plan.profile) if searched is None else searched)
    return out


def next_choices(config, plan: Plan, runs: pd.DataFrame, choices: dict, searched: dict | None = None) -> dict | None:
    """The choices that plan the next stage, or None when no pending stage can be planned further."""
    new = stage_choices(config, plan, runs, searched)
    return None if not plan.pending or new.keys() <= choices.keys() else new


def resolved_plan(config, paper: str, profile: str | None, experiments: list[str] | None,
                  runs: pd.DataFrame | None = None, searched: dict | None = None) -> Plan:
    """The plan with every later stage resolved from the finished runs in MLflow (trains nothing). ``runs`` and
    ``searched`` (the search choices): given instead of read from MLflow and the search results (a report rebuilt
    from its data folder, reports.bundle)."""
    choices: dict | None = {}
    while True:
        plan = make_plan(config, paper, profile, experiments, choices)
        if runs is None:
            runs = load_runs(config, plan)
        choices = next_choices(config, plan, runs, choices, searched)
        if choices is None:
            return plan
