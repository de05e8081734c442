"""`suite plan | run | report | reproduce PAPER [--profile P] [--experiments a,b]`."""
from __future__ import annotations

import argparse
import os
import sys
import time

from pipelines.config import ConfigError, load
from pipelines.driver import StudyError
from pipelines.plan import describe
from pipelines.selection import resolved_plan
from trainers.assets import AssetError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="suite", description="Reproduce BERT fine-tuning studies end to end.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, about in (("plan", "print trial counts and estimated GPU-hours; runs nothing"),
                        ("run", "run the planned trials that have no finished MLflow run"),
                        ("report", "analyse finished runs and write the report; trains nothing"),
                        ("reproduce", "run, then report")):
        cmd = sub.add_parser(name, help=about, description=about)
        cmd.add_argument("paper", help="a paper in suite.yaml, e.g. revisiting")
        cmd.add_argument("--profile", help="smoke, cpu (default) or paper; see suite.yaml")
        cmd.add_argument("--experiments", help="comma-separated subset of the paper's experiments")
        cmd.add_argument("--config", help="path to suite.yaml (default: the repository's)")
        if name in ("run", "reproduce"):
            cmd.add_argument("--ray-address", help="HOST:PORT of an existing Ray cluster (or set RAY_ADDRESS)")
    about = "ASHA over an experiment's declared grids; writes its choices and a small report"
    cmd = sub.add_parser("search", help=about, description=about)
    cmd.add_argument("paper", help="a paper in suite.yaml, e.g. revisiting")
    cmd.add_argument("--experiment", required=True, help="an experiment with a `search:` block, e.g. methods")
    cmd.add_argument("--profile", help="smoke, cpu (default) or paper; see suite.yaml")
    cmd.add_argument("--tasks", help="comma-separated subset of the experiment's tasks")
    cmd.add_argument("--config", help="path to suite.yaml (default: the repository's)")
    cmd.add_argument("--ray-address", help="HOST:PORT of an existing Ray cluster (or set RAY_ADDRESS)")
    return parser


def _names(text: str | None) -> list[str] | None:
    """'a, b' -> ['a', 'b']; None when not given."""
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _search(config, args) -> int:
    from pipelines.driver import fmt_seconds
    from pipelines.search import run_search
    from reports import search as search_report
    start = time.monotonic()
    outcome = run_search(config, args.paper, args.profile, args.experiment, _names(args.tasks), args.ray_address)
    print(f"search: {outcome.trials} trials, {outcome.stopped} stopped early by ASHA, {len(outcome.failed)} failed "
          f"({fmt_seconds(time.monotonic() - start)}); choices written: {outcome.result_file}")
    path = search_report.render(config.runs_dir / "reports", outcome.name, outcome.runs, outcome.result_file,
                                outcome.evaluations, outcome.rungs)
    print(f"report written: {path}")
    return 1 if outcome.failed else 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = _parser().parse_args(argv)
    try:
        config = load(args.config)
        chosen = _names(getattr(args, "experiments", None))
        if args.command == "search":
            return _search(config, args)
        if args.command == "plan":
            plan = resolved_plan(config, args.paper, args.profile, chosen)
            print(describe(plan, config.profile(plan.profile)[1]))
            return 0
        start, status = time.monotonic(), 0
        if args.command in ("run", "reproduce"):
            from pipelines.driver import fmt_seconds, run_study
            _, outcome = run_study(config, args.paper, args.profile, chosen, getattr(args, "ray_address", None))
            print(f"trials: {outcome.ran} ran, {outcome.reused} reused, {len(outcome.failed)} failed "
                  f"({fmt_seconds(time.monotonic() - start)})")
            if outcome.failed:  # the report is still written; a rerun retries only these
                print(f"suite: {len(outcome.failed)} trial(s) failed: {', '.join(outcome.failed)}", file=sys.stderr)
                status = 1
        if args.command in ("report", "reproduce"):
            from reports.build import build_report
            path = build_report(config, resolved_plan(config, args.paper, args.profile, chosen))
            print(f"report written: {path}")
        return status
    except (ConfigError, AssetError, StudyError) as exc:
        print(f"suite: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("suite: interrupted; finished trials are kept in MLflow and rerunning resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
