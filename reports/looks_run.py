"""`make reproduce BUDGET=...`: the looks run live (reports.looks replays them from the MLflow store; this runs the
next one, until none is left). Apart from reports.looks because it reads the store as reports.build does."""
from __future__ import annotations

import yaml

from pipelines.config import ConfigError, SuiteConfig
from pipelines.driver import StudyError
from pipelines.looks import config_at
from reports.looks import Replay, grown_text, replay


def live_replay(config: SuiteConfig, paper: str, profile_name: str, experiments, budget: float, slots: int,
                work) -> Replay:
    """The looks the MLflow store shows now (reports.build's readers; ``work``: a scratch folder the claim
    checks may write figures to)."""
    from pipelines import tracking
    from pipelines.plan import make_plan
    from reports.build import ReportContext, curve_loader, outputs_reader
    from reports.shipped import PUBLISHED
    any_plan = make_plan(config, paper, profile_name, experiments)
    runs, failed = tracking.load_runs(config, any_plan), tracking.load_failed(config, any_plan)
    paper_cfg = config.paper(paper)
    _, profile = config.profile(profile_name, paper)
    published = yaml.safe_load((PUBLISHED / f"{paper_cfg['report']}.yaml").read_text(encoding="utf-8"))
    loader, reader = curve_loader(config), outputs_reader(config)

    derived: dict = {}  # a number computed from weights (Xu et al.'s AVG) once for every look that reads it

    def derive(key, compute):
        if key not in derived:
            derived[key] = compute()
        return derived[key]

    def make_ctx(plan):
        return ReportContext(plan, profile, paper_cfg, runs, work, published, loader, suite=config.data,
                             failed=failed, read_outputs=reader, derive=derive)
    return replay(config, paper, profile_name, experiments, budget, slots, runs, failed, make_ctx)


def run_budgeted(config: SuiteConfig, paper: str, profile_name: str | None, experiments, budget: float,
                 ray_address: str | None = None, out=print):
    """`make reproduce BUDGET=...`: replay the looks from the store; run the next one; until none is left. Returns
    the last replay and the outcomes of the looks run now."""
    import tempfile

    from pipelines.driver import run_study
    from pipelines.looks import slots as machine_slots
    profile_name = config.profile(profile_name, paper)[0]
    n = machine_slots(config, paper, profile_name)
    outcomes = []
    with tempfile.TemporaryDirectory() as work:
        while True:
            state = live_replay(config, paper, profile_name, experiments, budget, n, work)
            if state.next is None:
                if not state.looks:
                    raise_budget(state)
                out(f"{paper}/{profile_name}: looks done after {len(state.looks)} of {len(state.design.pairs)} "
                    f"({state.spent:.2f} h of {budget:g} h): {state.stop}")
                return state, outcomes
            k = len(state.looks)
            grown = grown_text(state.next)
            undecided = [c for look in state.looks[-1:] for c in look.needed]
            held = [c for look in state.looks[-1:] for c in look.held]
            out(f"{paper}/{profile_name}: look {k + 1} of {len(state.design.pairs)} ({state.design.pairs[k]} "
                f"pairs): seeds {grown}; about {state.next.hours_todo / n:.2f} h to run"
                + (f"; undecided: {', '.join(undecided)}" if undecided else "")
                + (f"; partial, over the budget whole: {', '.join(held)} keep their pairs" if held else ""))
            _, outcome = run_study(config_at(config, paper, state.next.counts), paper, profile_name, experiments,
                                   ray_address)
            outcomes.append(outcome)
            if outcome.ran == 0 and not outcome.failed:
                raise StudyError(f"look {k + 1} ran no trial, yet some of its trials have no finished run")


def raise_budget(state: Replay) -> None:
    raise ConfigError(f"BUDGET {state.budget:g} h is below the first look: {state.stop}; raise BUDGET or run "
                      f"`make plan BUDGET=...` to see each look's cost")
