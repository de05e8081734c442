"""`suite search PAPER --experiment EXP`: Ray Tune's ASHA scheduler (Li et al. 2020) over an experiment's grids
as suite.yaml declares them (for Sec. 7's methods, the Appendix H spaces; a profile's narrowing is ignored), one
ASHA run per task because the tasks' metrics are not comparable. With `search: {samples: n}` the trials are n
points drawn at random from the grid (Kobyzev et al. Appendix D: 20 samples of batch x lr x alpha x T), the same
points for every seed, drawn with `sample_seed` so a rerun plans the same trials.

Each trial reports its validation metric at every evaluation; ASHA stops the weak ones at its rungs. Stopped
trials keep their curves in MLflow, tagged outcome=early_stopped and ended KILLED, so no finished-runs
statistic (selection, expected maximum, bootstrap) ever sees them. The choice per (task, arm) is the study's
rule (pipelines.selection.choose: best mean validation) over the complete trials; it is written to
runs/search/<paper>-<profile>-<experiment>.yaml, where {searched: EXP} settings of a later experiment read it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from pipelines import tracking
from pipelines.availability import reason
from pipelines.config import SuiteConfig
from pipelines.config_errors import ConfigError
from pipelines.experiment_graph import SEARCH_PREFIX, teacher_sources
from pipelines.resolved import profile_tasks
from pipelines.driver import Progress, StudySession, failed_ids, preflight, run_study, run_taught
from pipelines.plan import Plan, Teachers, expand_experiment, make_plan, sample_points
from pipelines.search_results import result_path, searchable
from pipelines.selection import choose, members_frame

SEARCH_DEFAULTS = {"seeds": "search", "grace_evaluations": 1, "reduction_factor": 2, "samples": None,
                   "sample_seed": 0, "top": 1, "confirm": None}


@dataclass
class SearchOutcome:
    name: str  # the MLflow experiment of the search
    trials: int
    stopped: int
    failed: list[str]
    result_file: Path
    runs: pd.DataFrame  # every run of this search (pipelines.search.search_runs)
    evaluations: int
    rungs: list[int]


def search_plan(config: SuiteConfig, paper: str, profile_name: str | None, experiment: str,
                tasks: list[str] | None = None) -> tuple[Plan, dict]:
    """The experiment's trials at its declared (un-narrowed) grids and the search's seeds, and its settings."""
    profile_name, profile = config.profile(profile_name, paper)
    declared = config.paper(paper)["experiments"]
    config.experiments(paper, [experiment])  # an unknown name: "unknown experiment ... (valid: ...)"
    if "search" not in declared[experiment]:
        raise ConfigError(f"experiment {experiment!r} of paper {paper!r} declares no search "
                          f"(searchable: {', '.join(searchable(config, paper)) or 'none'})")
    exp = declared[experiment]
    settings = {**SEARCH_DEFAULTS, **(exp["search"] or {})}
    allowed = profile_tasks(profile, experiment, exp)
    if not allowed:
        raise ConfigError(f"experiment {experiment!r} has no task at profile {profile_name} (its tasks: "
                          f"{', '.join(exp['tasks'])}; the profile's: {', '.join(profile.tasks)})")
    for task in tasks or []:
        if task not in allowed:
            raise ConfigError(f"task {task!r} is not searched in {experiment} at profile {profile_name} "
                              f"(valid: {', '.join(allowed)})")
    wide = replace(profile, grids={})  # the declared grids, not the profile's narrowing
    sources = sorted(teacher_sources(exp, experiment))  # KD's teachers: the study's own trials of these
    teachers = make_plan(config, paper, profile_name, sources).teachers if sources else Teachers(declared)
    members, specs = expand_experiment(wide, config.paper(paper).get("recipes") or {}, experiment,
                                       replace(exp, seeds=settings["seeds"]), tasks or allowed, {}, teachers)
    if settings["samples"]:
        members = sample_points(members, settings["samples"], settings["sample_seed"])
    ids = {m.trial_id for m in members}
    plan = Plan(paper, profile_name, experiments={experiment: members})
    for spec in specs:
        if spec.trial_id in ids:
            plan.specs.setdefault(spec.trial_id, spec)
    return plan, settings


def run_search(config: SuiteConfig, paper: str, profile_name: str | None, experiment: str,
               tasks: list[str] | None = None, ray_address: str | None = None, out=print) -> SearchOutcome:
    from ray.tune.schedulers import ASHAScheduler

    from pipelines.trial import stopped_early  # the worker's module imports Ray Tune: only once a search runs
    plan, settings = search_plan(config, paper, profile_name, experiment, tasks)
    runnable = [s for s in plan.unique() if not reason(s.config)]
    if not runnable:
        raise ConfigError(f"none of the {len(plan.specs)} trials of the {experiment} search can run here: "
                          f"{reason(plan.unique()[0].config)}")
    checksums = preflight(runnable)
    teacher_experiment = train_teachers(config, plan, experiment, runnable, ray_address, out)
    name = f"{tracking.experiment_name(paper, plan.profile)}-search-{experiment}"
    search_id = time.strftime("%Y%m%d-%H%M%S")
    session = StudySession(config, plan, ray_address, out, name=name)
    session.teacher_experiment_id = teacher_experiment
    evaluations = runnable[0].config.evaluations
    stopped, failed = 0, []
    try:
        by_task: dict[str, list] = {}
        for spec in runnable:
            by_task.setdefault(spec.config.task, []).append(spec)
        for task, specs in by_task.items():
            out(f"{paper}/{plan.profile} search of {experiment} on {task}: {len(specs)} trials, ASHA with rungs at "
                f"evaluations {rungs(evaluations, settings)} of {evaluations}")
            asha = ASHAScheduler(time_attr="training_iteration", max_t=evaluations,
                                 grace_period=settings["grace_evaluations"],
                                 reduction_factor=settings["reduction_factor"])
            grid = session.run(specs, checksums, scheduler=asha, tags={"search_id": search_id})
            failed += failed_ids(grid)
            for result in grid:
                if not result.error and stopped_early(result.metrics or {}):
                    tracking.stop_run(session.client, result.metrics["run_id"], result.metrics["evaluation"])
                    stopped += 1
        runs = search_runs(session.client, session.experiment_id, search_id)
        confirmed = confirm_top(config, plan, experiment, settings, session, checksums, runs,
                                search_id) if settings["confirm"] else {}
    finally:
        session.close()
    path = write_result(config, plan, experiment, search_id, runs, confirmed)
    return SearchOutcome(name, len(runnable), stopped, failed, path, runs, evaluations, rungs(evaluations, settings))


def train_teachers(config: SuiteConfig, plan: Plan, experiment: str, specs: list, ray_address: str | None,
                   out) -> str | None:
    """A KD search's students read the logits of the study's own teacher trials (the paper's one teacher per
    task): those not yet finished with their logits train first, in the study's MLflow experiment, as
    `make reproduce` would train them. Returns that experiment's id (None: nothing here has a teacher)."""
    from mlflow.tracking import MlflowClient

    wanted = {t for s in specs for t in s.config.teachers}
    if not wanted:
        return None
    client = MlflowClient(tracking.tracking_uri(config.runs_dir))
    name = tracking.experiment_name(plan.paper, plan.profile)
    existing = client.get_experiment_by_name(name) if (config.runs_dir / "mlflow.db").exists() else None
    ready = tracking.teachers_ready(client, existing.experiment_id) if existing else set()
    if wanted - ready:
        sources = sorted(teacher_sources(config.paper(plan.paper)["experiments"][experiment], experiment))
        out(f"{plan.paper}/{plan.profile}: {len(wanted - ready)} teacher trial(s) of {', '.join(sources)} train "
            f"first (the search's KD students read their logits)")
        run_study(config, plan.paper, plan.profile, sources, ray_address, out, teach=wanted)
        existing = client.get_experiment_by_name(name)
        missing = wanted - tracking.teachers_ready(client, existing.experiment_id)
        if missing:
            raise ConfigError(f"the search cannot start: {len(missing)} teacher trial(s) of {', '.join(sources)} "
                              f"failed (see `make report PAPER={plan.paper}`)")
    return existing.experiment_id


def top_points(plan: Plan, experiment: str, runs: pd.DataFrame, select: list[str], k: int) -> dict:
    """{(task, arm): the k best points by mean validation over complete trials, best first}."""
    frame = members_frame(plan, experiment, complete(runs))
    out = {}
    for (task, arm), group in frame[frame["finished"]].groupby(["raw_task", "arm"], sort=False):
        means = group.groupby("settings", sort=False)["best_val"].mean().sort_values(ascending=False, kind="stable")
        out[(task, arm)] = [{key: v for key, v in point if key in select} for point in means.index[:k]]
    return out


def confirm_top(config: SuiteConfig, plan: Plan, experiment: str, settings: dict, session, checksums: dict,
                runs: pd.DataFrame, search_id: str) -> dict:
    """Kobyzev et al. Appendix D: "we chose the five best hyper-parameter sets from this experiment and checked
    their performance with other baselines and chose the one with highest average performance among all
    baselines". The `top` best points per task train every arm of the `confirm` experiment (the one whose
    settings read this search) at the search's seeds; the point with the best mean dev over its arms (each arm's
    mean over seeds) becomes the choice. Returns {task: {"point", "score", "points": [{point, arms, score}]}}."""
    declared = config.paper(plan.paper)["experiments"]
    target = declared[settings["confirm"]]
    _, profile = config.profile(plan.profile, plan.paper)
    recipes = config.paper(plan.paper).get("recipes") or {}
    sources = sorted(teacher_sources(target, settings["confirm"]))
    base = make_plan(config, plan.paper, plan.profile, sources).teachers if sources else Teachers(declared)
    tops = top_points(plan, experiment, runs, declared[experiment]["select"], settings["top"])
    where: dict[str, list[tuple[str, int, str]]] = {}  # trial id -> [(task, point, arm)]: Finetune is shared
    specs: dict[str, object] = {}
    for (task, arm), points in tops.items():
        for i, point in enumerate(points):
            teachers = base.copy()  # each point's Self-KD reads that point's Finetune
            members, made = expand_experiment(replace(profile, grids={}), recipes, settings["confirm"],
                                              replace(target, seeds=settings["seeds"]), [task],
                                              {(SEARCH_PREFIX + experiment, task, arm): point}, teachers)
            specs.update({s.trial_id: s for s in made})
            for m in members:
                where.setdefault(m.trial_id, []).append((task, i, m.arm))
    todo = list(specs.values())
    external = {t for s in todo for t in s.config.teachers if t not in specs}
    session.out(f"{plan.paper}/{plan.profile} search of {experiment}: its top {settings['top']} point(s) per task "
                f"train every arm of {settings['confirm']}: {len(todo)} trials")
    confirm_id = f"{search_id}-confirm"
    run_taught(session, todo, checksums, Progress(len(todo), session.out), external,
               {t for s in todo for t in s.config.teachers if t in specs}, tags={"search_id": confirm_id})
    done = search_runs(session.client, session.experiment_id, confirm_id)
    values: dict[tuple, list[float]] = {}
    for row in complete(done).itertuples():
        for key in where[row.trial_id]:
            values.setdefault(key, []).append(float(row.best_val))
    out = {}
    for (task, arm), points in tops.items():
        table = []
        for i, point in enumerate(points):
            arms = {a: float(np.mean(v)) for (t, j, a), v in values.items() if (t, j) == (task, i)}
            complete_arms = len(arms) == len(target["arms"])  # a point missing an arm cannot be averaged fairly
            table.append({"point": point, "arms": {a: round(v, 6) for a, v in arms.items()},
                          "score": round(float(np.mean(list(arms.values()))), 6) if complete_arms else None})
        scored = [row for row in table if row["score"] is not None]
        if scored:  # ties go to the higher ASHA rank
            best = max(scored, key=lambda row: row["score"])
            out[task] = {"arm": arm, "point": best["point"], "score": best["score"], "points": table}
    return out


def rungs(evaluations: int, settings: dict) -> list[int]:
    """ASHA's milestones: grace x rf^k below the full budget."""
    out, t = [], settings["grace_evaluations"]
    while t < evaluations:
        out.append(t)
        t *= settings["reduction_factor"]
    return out


def search_runs(client, experiment_id: str, search_id: str) -> pd.DataFrame:
    """Every run of one search (complete, stopped early, failed): tags, final metrics, evaluations reached."""
    rows = []
    for run in tracking.all_runs(client, experiment_id, f"tags.search_id = '{search_id}'"):
        rows.append({"run_id": run.info.run_id, "status": run.info.status, "end_time": run.info.end_time,
                     **run.data.tags, **tracking.frame_metrics(run.data.metrics,
                                                               tracking.task_metric_of(run.data.tags))})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    history = tracking.metric_histories(client, dict(zip(frame["run_id"], frame["run_id"])), "val_metric")
    frame["evaluations"] = [len(history[r]) for r in frame["run_id"]]
    return frame.sort_values("end_time", kind="stable").reset_index(drop=True)


def complete(runs: pd.DataFrame) -> pd.DataFrame:
    """Trials that ran their whole budget: the only ones statistics may pool (ASHA's survivors are not i.i.d.
    draws, and stopped ones are truncated)."""
    return runs[runs.get("outcome", pd.Series(dtype=str)).isin(["finished", "diverged"])]


def write_result(config: SuiteConfig, plan: Plan, experiment: str, search_id: str, runs: pd.DataFrame,
                 confirmed: dict | None = None) -> Path:
    """The chosen settings per (task, arm) from the complete trials, written atomically; a task whose top points
    were confirmed on every arm (confirm_top) takes the confirmed point."""
    select = config.paper(plan.paper)["experiments"][experiment]["select"]
    choices: dict = {}
    for row in choose(members_frame(plan, experiment, complete(runs)), select).itertuples():
        if row.n:  # an arm whose every trial was stopped (or could not run) has no choice
            choices.setdefault(row.raw_task, {})[row.arm] = {"settings": dict(row.choice),
                                                        "mean_val": round(float(row.mean_val), 6),
                                                        "complete_seeds": int(row.n)}
    for task, result in (confirmed or {}).items():
        choices.setdefault(task, {})[result["arm"]] = {
            "settings": result["point"], "mean_val": result["score"],
            "complete_seeds": choices.get(task, {}).get(result["arm"], {}).get("complete_seeds", 0),
            "confirmed": result["points"]}
    path = result_path(config, plan.paper, plan.profile, experiment)
    path.parent.mkdir(parents=True, exist_ok=True)
    searched = {spec.config.task for spec in plan.unique()}
    earlier = yaml.safe_load(path.read_text(encoding="utf-8"))["choices"] if path.is_file() else {}
    merged = {**{t: c for t, c in earlier.items() if t not in searched}, **choices}  # other tasks' searches stay
    partial = path.with_suffix(".tmp")
    partial.write_text(yaml.safe_dump({"experiment": experiment, "profile": plan.profile, "search_id": search_id,
                                       "trials": int(len(runs)), "complete": int(len(complete(runs))),
                                       "arms": list(config.paper(plan.paper)["experiments"][experiment]["arms"]),
                                       "searched_tasks": sorted(searched), "choices": merged}, sort_keys=False),
                       encoding="utf-8")
    partial.replace(path)
    return path
