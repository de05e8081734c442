"""Model selection by mean validation performance (Sec. 5-7), shared by the planner and the report.

An experiment's `select` keys are chosen per (task, arm and the arm's other grid values) as the grid point with
the highest mean best-validation score over its finished seeds; ties go to the first point in declared order.
"""
from __future__ import annotations

import pandas as pd

from pipelines.plan import Plan

METRICS = ["outcome", "best_val", "test_at_best_val", "val_last", "test_last", "train_seconds", "steps"]


def members_frame(plan: Plan, experiment: str, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per planned trial of the experiment: task column, raw task, arm, settings, seeds and final
    metrics (NaN until it finishes); ``finished`` marks rows with a finished run."""
    rows = []
    for order, m in enumerate(plan.experiments.get(experiment, [])):
        spec = plan.specs[m.trial_id]
        rows.append({"trial_id": m.trial_id, "task": m.task, "raw_task": spec.config.task, "arm": m.arm,
                     "settings": m.values, "init_seed": m.init_seed, "data_seed": m.data_seed,
                     "seed": m.init_seed if m.init_seed == m.data_seed else None, "order": order,
                     **{f"s.{k}": v for k, v in m.values}})
    planned = pd.DataFrame(rows)
    if planned.empty:
        return pd.DataFrame(columns=["trial_id", "task", "raw_task", "arm", "settings", "init_seed", "data_seed",
                                     "seed", "order", *METRICS, "finished"])
    frame = planned.merge(runs.reindex(columns=["trial_id", *METRICS]), on="trial_id", how="left")
    frame["finished"] = frame["outcome"].notna()
    return frame


def choose(frame: pd.DataFrame, select: list[str]) -> pd.DataFrame:
    """Per (task, arm, kept settings): the selected settings with the best mean validation.

    Returns one row per group: task, raw_task, arm, ``key`` (the kept settings), ``choice`` (dict of the chosen
    settings), ``mean_val`` and ``n`` (finished seeds at that point), ``covered`` (every grid point has a
    finished run: only then is the choice final)."""
    out = []
    done = frame[frame["finished"]]
    for (task, arm), group in frame.groupby(["task", "arm"], sort=False):
        settings = dict(group["settings"].iloc[0])
        chosen_keys = [k for k in select if k in settings]
        kept = [k for k in settings if k not in chosen_keys and group[f"s.{k}"].nunique(dropna=False) > 1]
        for kept_values, sub in group.groupby([f"s.{k}" for k in kept], sort=False, dropna=False) if kept \
                else [((), group)]:
            kept_values = {k: dict(sub["settings"].iloc[0])[k] for k in kept}  # groupby turns None into NaN
            best, empty = None, False
            for point, cell in sub.groupby([f"s.{k}" for k in chosen_keys], sort=False, dropna=False) \
                    if chosen_keys else [((), sub)]:
                point = {k: dict(cell["settings"].iloc[0])[k] for k in chosen_keys}
                finished = cell[cell["trial_id"].isin(done["trial_id"])]
                mean = float(finished["best_val"].mean()) if len(finished) else float("-inf")
                empty = empty or finished.empty
                if best is None or mean > best[0]:
                    best = (mean, point, len(finished))
            out.append({"task": task, "raw_task": group["raw_task"].iloc[0], "arm": arm,
                        "key": kept_values, "choice": best[1],
                        "mean_val": best[0], "n": best[2], "covered": not empty})
    return pd.DataFrame(out, columns=["task", "raw_task", "arm", "key", "choice", "mean_val", "n", "covered"])


def stage_choices(config, plan: Plan, runs: pd.DataFrame) -> dict:
    """{(experiment, raw task, arm): {setting: value}} for every planned experiment with `select`, where each
    grid point has finished runs (the driver runs a stage to the end before planning the next)."""
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
    return out


def resolved_plan(config, paper: str, profile: str | None, experiments: list[str] | None) -> Plan:
    """The plan with every later stage resolved from the finished runs in MLflow (trains nothing)."""
    from pipelines.plan import make_plan
    from pipelines.tracking import load_runs
    choices: dict = {}
    runs = None
    while True:
        plan = make_plan(config, paper, profile, experiments, choices)
        if runs is None:
            runs = load_runs(config, plan)
        new = stage_choices(config, plan, runs)
        if not plan.pending or new.keys() <= choices.keys():
            return plan
        choices = new
