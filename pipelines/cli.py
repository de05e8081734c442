"""`suite plan | run | report | reproduce PAPER [--profile P] [--experiments a,b]`; `suite report PAPER --runs PATH`
rebuilds a report from the data it ships."""
from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from importlib.metadata import entry_points

from pipelines.config import ConfigError, load
from pipelines.driver import StudyError, StudyOutcome
from pipelines.plan import describe
from pipelines.selection import resolved_plan
from reports.shipped import check_papers
from trainers.assets import AssetError, assets_root


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="suite", description="Reproduce BERT fine-tuning studies end to end.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, about in (("plan", "print trial counts and estimated GPU-hours; runs nothing"),
                        ("run", "run the planned trials that have no finished MLflow run"),
                        ("report", "analyse finished runs and write the report; trains nothing"),
                        ("reproduce", "run, then report")):
        cmd = sub.add_parser(name, help=about, description=about)
        cmd.add_argument("paper", help="a paper in suite.yaml, e.g. revisiting, or all")
        cmd.add_argument("--profile", help="smoke, cpu (default) or paper; see suite.yaml")
        cmd.add_argument("--experiments", help="comma-separated subset of the paper's experiments")
        cmd.add_argument("--config", help="path to suite.yaml (default: the repository's)")
        if name in ("run", "reproduce"):
            cmd.add_argument("--ray-address", help="HOST:PORT of an existing Ray cluster (or set RAY_ADDRESS)")
        cmd.add_argument("--budget", metavar="TIME", help="seeds in the profile's looks, each next look only for "
                         "undecided claims, within TIME wall (e.g. 2h, 90m); reuses every finished trial")
        if name == "report":
            cmd.add_argument("--runs", metavar="PATH", help="rebuild the report from the data it ships (a report "
                             "folder or its data/ folder) instead of MLflow; --profile defaults to the data's")
    about = "ASHA over an experiment's declared grids; writes its choices and a small report"
    cmd = sub.add_parser("search", help=about, description=about)
    cmd.add_argument("paper", help="a paper in suite.yaml, e.g. revisiting")
    cmd.add_argument("--experiment", required=True, help="an experiment with a `search:` block, e.g. methods")
    cmd.add_argument("--profile", help="smoke, cpu (default) or paper; see suite.yaml")
    cmd.add_argument("--tasks", help="comma-separated subset of the experiment's tasks")
    cmd.add_argument("--config", help="path to suite.yaml (default: the repository's)")
    cmd.add_argument("--ray-address", help="HOST:PORT of an existing Ray cluster (or set RAY_ADDRESS)")
    about = "the MLflow UI over the local store, bound to 127.0.0.1, after a link to each study's runs"
    cmd = sub.add_parser("ui", help=about, description=about)
    cmd.add_argument("--port", type=int, default=5000)
    cmd.add_argument("--config", help="path to suite.yaml (default: the repository's)")
    return parser


def _ui(config, port: int) -> int:
    """`suite ui` (`make ui`): each study's runs as a link, then `mlflow ui` in this process's place, serving the
    suite's MLflow app (pipelines.ui_server: every page opens in the model-training view until a person picks GenAI).
    A store not made yet is made here (seed_store), so MLflow does not make one with its Default experiment's
    artifacts in the current folder."""
    from pipelines import tracking
    uri = tracking.tracking_uri(config.runs_dir)
    if tracking.is_server(uri):
        raise StudyError(f"MLFLOW_TRACKING_URI is a tracking server ({uri}): open it, it serves its own UI")
    if not entry_points(group="mlflow.app", name=tracking.UI_APP):
        raise StudyError(f"MLflow app {tracking.UI_APP!r} is not installed in this environment: run `make setup` "
                         "(pip install -e .)")
    with socket.socket() as sock:  # uvicorn only logs a taken port, after the links, and MLflow exits 0
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise StudyError(f"port {port} on 127.0.0.1 is taken (another `make ui`?): choose a free one, "
                             "`make ui UI_PORT=5001` or `suite ui --port 5001`") from None
    tracking.seed_store(uri)
    base = f"http://127.0.0.1:{port}"
    links = tracking.ui_links(uri, base)
    for name, link, runs in links:
        print(f"{name} ({runs} runs): {link}")
    if not links:
        print(f"no runs yet in {uri}; open {base}/#/experiments?{tracking.ML_VIEW} once a study has run")
    mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
    command = [mlflow, "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--app-name", tracking.UI_APP]  # one person's browser
    sys.stdout.flush()
    os.execve(mlflow, command, {**os.environ, **tracking.UI_ENV})


def _names(text: str | None, option: str = "--experiments") -> list[str] | None:
    """'a, b' -> ['a', 'b']; None when not given."""
    names = None if text is None else [t.strip() for t in text.split(",") if t.strip()]
    if names == []:
        raise ConfigError(f"{option}: expected comma-separated names, got {text!r}")
    return names


class NothingToReport(StudyError):
    """`suite report` of a study with no finished run yet: nothing to analyse, nothing written."""


def _runs_missing(config, plan) -> bool:
    """True when the plan has trials that can run here but none has a finished run yet. A plan of only skipped
    experiments, or of trials none of which can run here, still gets its report: its coverage says why."""
    from pipelines.availability import blocked
    from pipelines.tracking import load_runs
    if not plan.specs or set(load_runs(config, plan)["trial_id"]) & set(plan.specs):
        return False
    return not all(blocked(plan.unique()).values())


def _store_where(config) -> str:
    """Where the finished runs are looked for: the tracking server MLFLOW_TRACKING_URI names, else the runs folder
    (a runs_dir under a file raises NotADirectoryError here: that is the error to show, not a missing run)."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    try:
        config.runs_dir.stat()
    except FileNotFoundError:
        pass
    return str(config.runs_dir)


def _make_reproduce(paper: str, profile: str, chosen) -> str:
    return f"make reproduce PAPER={paper} PROFILE={profile}" + (f" EXPERIMENTS={','.join(chosen)}" if chosen else "")


def _no_runs_note(config, plan) -> None:
    """A report built from zero finished runs (only skipped experiments, or none that can run here, or a study
    whose trials all failed) is still written (each table says why), and the terminal says so."""
    from pipelines.tracking import load_runs
    if set(load_runs(config, plan)["trial_id"]) & set(plan.specs):
        return
    why = (f"no chosen experiment runs at profile {plan.profile}; its coverage table says why" if not plan.specs
           else "no trial has finished; the report says why")
    print(f"suite: no finished runs for {plan.paper}-{plan.profile}: the report shows every table as not run ({why})",
          file=sys.stderr)


def _search(config, args) -> int:
    from pipelines.driver import fmt_seconds, shared_ray
    from pipelines.search import run_search
    from reports import search as search_report
    start = time.monotonic()
    with shared_ray():  # one Ray instance for the teachers a KD search trains first and for the search itself
        outcome = run_search(config, args.paper, args.profile, args.experiment, _names(args.tasks, "--tasks"),
                             args.ray_address)
    print(f"search: {outcome.trials} trials, {outcome.stopped} stopped early by ASHA, {len(outcome.failed)} failed "
          f"({fmt_seconds(time.monotonic() - start)}); choices written: {outcome.result_file}")
    path = search_report.render(config.runs_dir / "reports", outcome.name, outcome.runs, outcome.result_file,
                                outcome.evaluations, outcome.rungs)
    print(f"report written: {path}")
    return 1 if outcome.failed else 0


def _papers(config, paper: str, chosen: list[str] | None) -> list[str]:
    """`all`: every paper of suite.yaml, in declared order; otherwise the one named (checked by config.paper)."""
    if paper != "all":
        config.paper(paper)
        return [paper]
    if chosen:
        raise ConfigError("--experiments names one paper's experiments: give a paper, not all")
    return list(config.data["papers"])


def _plan(config, papers: list[str], profile: str | None, chosen, budget: dict | None = None) -> None:
    from pipelines.looks import schedule
    from pipelines.plan import describe_suite
    from reports.index import claim_needs
    totals = []
    for paper in papers:
        plan = resolved_plan(config, paper, profile, chosen)
        text, paper_totals = describe(plan, config.profile(plan.profile, plan.paper)[1])
        needs = claim_needs(config.runs_dir / "reports", paper, plan.profile)
        looks = schedule(config, paper, profile, chosen, budget["hours"], budget["slots"]) if budget else ""
        print(text + "".join(f"\n{part}" for part in (needs, looks) if part) + ("\n" if len(papers) > 1 else ""))
        totals.append(paper_totals)
    if len(papers) > 1:
        print(describe_suite(totals, config.profile(profile)[0]))


def _budget(args, papers: list[str], config) -> dict | None:
    """--budget as {hours, slots} (pipelines.looks), checked before anything runs; None without it."""
    if getattr(args, "budget", None) is None:
        return None
    from pipelines.looks import LookDesign, parse_budget, slots
    hours = parse_budget(args.budget)
    if len(papers) > 1:
        raise ConfigError("--budget: give one paper (each paper's looks spend their own budget)")
    LookDesign.of(config, papers[0], args.profile)  # a profile without looks: its one-line error
    return {"hours": hours, "slots": slots(config, papers[0], args.profile)}


def _run(config, args, papers: list[str], chosen) -> int:
    """Every paper's study in one process: one Ray instance and one MLflow store for all of them."""
    from pipelines.driver import fmt_seconds, run_study, shared_ray
    status = 0
    budget = _budget(args, papers, config)
    with shared_ray():
        for paper in papers:
            start = time.monotonic()
            if budget:
                from reports.looks_run import run_budgeted
                state, looks = run_budgeted(config, paper, args.profile, chosen, budget["hours"],
                                            getattr(args, "ray_address", None))
                # a trial that fails at one look is retried at the next: name it once
                ran, failed = sum(o.ran for o in looks), list(dict.fromkeys(t for o in looks for t in o.failed))
                planned = len(state.plan.unique()) if state.plan else 0
                outcome = StudyOutcome(planned, max(0, planned - ran - len(failed)), ran, failed)
            else:
                _, outcome = run_study(config, paper, args.profile, chosen, getattr(args, "ray_address", None))
            print(f"{paper}: trials: {outcome.ran} ran, {outcome.reused} reused, {len(outcome.failed)} failed "
                  f"({fmt_seconds(time.monotonic() - start)})")
            if outcome.failed:  # the report is still written; a rerun retries only these
                print(f"suite: {len(outcome.failed)} trial(s) failed ({paper}): {', '.join(outcome.failed)}",
                      file=sys.stderr)
                status = 1
    return status


def _rebuild(config, paper: str, profile: str | None, chosen, path: str) -> None:
    """`suite report PAPER --runs PATH`: the report rebuilt from the data folder beside a report (reports.bundle),
    read and checked whole first; MLflow is not read."""
    from reports.build import build_report
    from reports.bundle import load_bundle, plan_digest
    from reports.index import write_index
    if paper == "all":
        raise ConfigError("--runs rebuilds one report from its data: give its paper, not all")
    if chosen is not None:
        raise ConfigError("--runs: the data folder says which experiments its report covers; leave out --experiments")
    bundle = load_bundle(path)
    if (paper, profile or bundle.profile) != (bundle.paper, bundle.profile):
        raise ConfigError(f"--runs {path}: holds the data of the {bundle.paper}-{bundle.profile} report, not "
                          f"{paper}-{profile or bundle.profile}")
    plan = resolved_plan(config, paper, bundle.profile, bundle.experiments, bundle.runs, bundle.searched)
    if plan_digest(plan) != bundle.manifest.get("plan"):
        print(f"suite: warning: {paper}-{bundle.profile} plans other trials here than when its data was written "
              f"(commit {bundle.manifest.get('commit', 'unknown')}; suite.yaml or the code changed): the rebuilt "
              f"report may differ", file=sys.stderr)
    budget = bundle.manifest.get("budget")  # a budgeted run's report replays its looks from the data
    print(f"report written: {build_report(config, plan, bundle, budget)} (from {bundle.folder}, without MLflow)")
    print(f"index of every report: {write_index(config.runs_dir / 'reports')}")


def _report(config, papers: list[str], profile: str | None, chosen, after_run: bool = False,
            budget: dict | None = None) -> int:
    """The papers' reports and the index. `suite report` (not after a run): a paper with no finished run yet gets
    no report (its tables would all be empty); when no paper has one, that is an error and nothing is written."""
    from reports.build import build_report
    from reports.index import write_index
    plans = [resolved_plan(config, paper, profile, chosen) for paper in papers]
    missing = [] if after_run else [plan.paper for plan in plans if _runs_missing(config, plan)]
    if missing and len(missing) == len(plans):
        name = papers[0] if len(papers) == 1 else "all"
        raise NothingToReport(f"no finished runs for {name} at profile {plans[0].profile} yet (looked in "
                              f"{_store_where(config)}); run `{_make_reproduce(name, plans[0].profile, chosen)}` first")
    for plan in plans:
        if plan.paper not in missing:
            print(f"report written: {build_report(config, plan, budget=budget)}")
            _no_runs_note(config, plan)
    print(f"index of every report: {write_index(config.runs_dir / 'reports')}")
    if missing:
        print(f"suite: no report for {', '.join(missing)}: no finished runs at profile {plans[0].profile} yet "
              f"(looked in {_store_where(config)}); run `{_make_reproduce('PAPER', plans[0].profile, chosen)}` for "
              f"each", file=sys.stderr)
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = _parser().parse_args(argv)
    config = None
    try:
        config = load(args.config)
        check_papers(config)  # the config layer validates suite.yaml but does not know the reports
        assets_root()  # a SUITE_ASSETS that names no folder: an error before anything is written
        chosen = _names(getattr(args, "experiments", None))
        if args.command == "ui":
            return _ui(config, args.port)
        if args.command == "search":
            return _search(config, args)
        papers = _papers(config, args.paper, chosen)
        config.profile(args.profile)
        if args.command == "plan":
            _plan(config, papers, args.profile, chosen, _budget(args, papers, config))
            return 0
        status = _run(config, args, papers, chosen) if args.command in ("run", "reproduce") else 0
        if getattr(args, "runs", None) is not None:
            _rebuild(config, args.paper, args.profile, chosen, args.runs)
        elif args.command in ("report", "reproduce"):
            status = _report(config, papers, args.profile, chosen, after_run=args.command == "reproduce",
                             budget=_budget(args, papers, config)) or status
        return status
    except (ConfigError, AssetError, StudyError) as exc:
        print(f"suite: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path we cannot write or read (runs_dir under a file, a read-only folder)
        if exc.filename is None:
            raise
        ours = config is not None and str(exc.filename).startswith(str(config.runs_dir))
        hint = " (runs_dir in the config says where runs and reports go)" if ours else ""
        print(f"suite: error: {exc.filename}: {exc.strerror}{hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("suite: interrupted; finished trials are kept in MLflow and rerunning resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
