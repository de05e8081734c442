"""The report stage: finished MLflow runs + the plan -> a per-paper report. Trains nothing."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import yaml

from pipelines import tracking
from pipelines.config import SuiteConfig
from pipelines.driver import git_commit
from pipelines.plan import Plan
from pipelines.search_results import search_choices
from pipelines.selection import members_frame
from reports.shipped import PUBLISHED
from reports.bundle import Bundle, DATA, Recorder, plan_digest
from reports.index import summary, write_summary
from reports.latex import write_report_tex
from reports.looks import replay, sequential_verdicts
from reports.render import recording, replace_folder



@dataclass
class ReportContext:
    """What a paper's report module gets: the plan, its profile, the finished runs, and where to write."""
    plan: Plan
    profile: dict
    paper: dict
    runs: pd.DataFrame  # one row per finished trial id
    out_dir: Path
    published: dict
    load_curves: Callable[[dict[str, str], str], dict] = lambda run_ids, key: {}
    suite: dict = field(default_factory=dict)  # the whole suite.yaml (Table 6 renders the paper profile)
    failed: dict = field(default_factory=dict)  # trial id -> last error line, for trials that never finished
    read_outputs: Callable[[str, bool], dict] | None = None  # run id, with weights? -> its saved logits (weights)
    memo: dict = field(default_factory=dict)  # what a paper's module computes once per build (Xu et al.'s VOTE/AVG)
    # key, compute -> compute()'s value: a number computed from what a report's data folder does not ship (weights);
    # kept there under key when built from MLflow, read from it when rebuilt (reports.bundle)
    derive: Callable[[str, Callable[[], object]], object] = lambda key, compute: compute()
    _curves: dict = field(default_factory=dict)
    _trials: dict = field(default_factory=dict)

    def curves(self, experiment: str, key: str) -> dict[str, list[tuple[int, float]]]:
        """{trial id: [(step, value)]} of one logged curve for the experiment's finished trials."""
        ids = set(self.plan.ids(experiment))
        cache = self._curves.setdefault(key, {})
        wanted = self.runs[self.runs["trial_id"].isin(ids - set(cache))]
        cache.update(self.load_curves(dict(zip(wanted["trial_id"], wanted["run_id"])), key))
        return {t: v for t, v in cache.items() if t in ids}

    def trials(self, experiment: str) -> pd.DataFrame:
        """The experiment's planned trials (task column, arm, settings, seeds) with their final metrics.
        Built once per experiment: every table, figure and claim reads the same frame."""
        if experiment not in self._trials:
            self._trials[experiment] = members_frame(self.plan, experiment, self.runs)
        return self._trials[experiment]


def curve_loader(config: SuiteConfig):
    """Loads metric histories from the same MLflow store the runs came from."""
    def load(run_ids: dict[str, str], key: str) -> dict:
        if not run_ids:
            return {}
        from mlflow.tracking import MlflowClient
        return tracking.metric_histories(MlflowClient(tracking.tracking_uri(config.runs_dir)), run_ids, key)
    return load


def outputs_reader(config: SuiteConfig):
    """Reads a run's saved final logits (and weights) from the same MLflow store (pipelines.tracking.read_outputs)."""
    def read(run_id: str, weights: bool = False) -> dict:
        from mlflow.tracking import MlflowClient
        return tracking.read_outputs(MlflowClient(tracking.tracking_uri(config.runs_dir)), run_id, weights)
    return read


def _manifest(config: SuiteConfig, plan: Plan) -> dict:
    """What data/manifest.json says besides its files: how to plan the report again, and who built it."""
    declared = config.paper(plan.paper)["experiments"]
    chosen = [name for name in declared if name in plan.stages]
    return {"paper": plan.paper, "profile": plan.profile, "title": config.paper(plan.paper)["title"],
            "experiments": None if chosen == list(declared) else chosen,
            "searched": [[*key, settings]
                         for key, settings in search_choices(config, plan.paper, plan.profile).items()],
            "plan": plan_digest(plan), "commit": git_commit(),
            "rebuild": f"suite report {plan.paper} --profile {plan.profile} --runs <this folder>"}


def _linked(markdown: str, link: str | None) -> str:
    """The report under its title line, a link to its runs in the MLflow UI (Markdown only: a URL is no PDF text)."""
    if not link:
        return markdown
    title, _, rest = markdown.partition("\n")
    return f"{title}\n\nRuns in MLflow (`make ui`): <{link}>\n{rest}"


def build_report(config: SuiteConfig, plan: Plan, bundle: Bundle | None = None, budget: dict | None = None) -> Path:
    """Write report.md, tables/*.tex, figures/* and report.tex (every table and figure in one LaTeX document:
    `make report-pdf`) into runs/reports/<paper>-<profile>/, replacing it whole, with the data it read in data/
    (reports.bundle). ``bundle``: a report's data folder (load_bundle) to build from instead of MLflow.
    ``budget``: {hours, slots} of a budgeted run: the report is built from its looks (reports.looks), at the last
    look's plan, with the claims' sequential verdicts."""
    paper = config.paper(plan.paper)
    _, profile = config.profile(plan.profile, plan.paper)
    published_file = PUBLISHED / f"{paper['report']}.yaml"
    with open(published_file, encoding="utf-8") as fh:
        published = yaml.safe_load(fh)
    if bundle is None:
        runs, failed = tracking.load_runs(config, plan), tracking.load_failed(config, plan)
        source, manifest = Recorder(curve_loader(config), outputs_reader(config)), _manifest(config, plan)
        link = tracking.study_link(config, plan)
        manifest.update({"mlflow": link} if link else {})
    else:
        runs, failed, source, manifest = bundle.runs, bundle.failed, bundle, bundle.manifest
        link = manifest.get("mlflow")  # a rebuilt report links where the one it was built from did
    module = importlib.import_module(f"reports.{paper['report']}")
    if budget:
        manifest["budget"] = budget

    def fill(work: Path) -> None:
        def make_ctx(for_plan: Plan) -> ReportContext:
            return ReportContext(for_plan, profile, paper, runs, work, published, source.load_curves,
                                 suite=config.data, failed=failed, read_outputs=source.read_outputs,
                                 derive=source.derive)
        replayed = None
        if budget:
            chosen = [n for n in paper["experiments"] if n in plan.stages]
            replayed = replay(config, plan.paper, plan.profile, None if chosen == list(paper["experiments"])
                              else chosen, budget["hours"], budget["slots"], runs, failed, make_ctx,
                              bundle.searched if bundle is not None else None)
        ctx = make_ctx(replayed.plan if replayed and replayed.plan else plan)
        ctx.memo["looks"] = replayed
        with recording() as written:
            markdown = module.render(ctx)
        (work / "report.md").write_text(_linked(markdown, link), encoding="utf-8")
        write_report_tex(work, markdown, written)
        write_summary(work, {**summary(ctx.plan, paper["title"], runs, failed,
                                       sequential_verdicts(ctx, module.claim_verdicts(ctx))),
                             **({"mlflow": link} if link else {})})
        source.write(work / DATA, runs, failed, manifest)
    return replace_folder(config.runs_dir / "reports" / f"{plan.paper}-{plan.profile}", fill) / "report.md"
