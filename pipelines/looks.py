"""Seeds in looks under a budget (issue 28): `make reproduce PAPER=x BUDGET=2h` runs a profile's seeds in looks
declared in advance (its ``looks:`` block), and gives each next look's seeds only to the experiments an undecided
claim reads. This module plans and costs the looks; reports.looks decides the claims at each look
(analysis.sequential) and pipelines.cli runs them.

A look of n pairs plans an experiment with the first n seeds of its seed set (the paper's own seeds in order, or
1..n): seeds are nested, so every look reuses the trials of the looks before it, and a trial's id is the id it has
in a plan of that many seeds. Experiments whose seed set the block does not name (searches, single teachers, fixed
counts) keep the profile's seeds at every look.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass

from pipelines.config import ConfigError, SuiteConfig
from pipelines.experiment_graph import teacher_sources
from pipelines.plan import Plan, trial_hours
from pipelines.plan import slots as plan_slots
from pipelines.validation import validate

_UNITS = {"h": 1.0, "m": 1 / 60, "min": 1 / 60, "s": 1 / 3600}


def parse_budget(text: str) -> float:
    """BUDGET as hours: "2h", "90m", "1.5h", "5400s" (a bare number is hours)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(h|m|min|s)?\s*", str(text))
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"BUDGET {text!r}: expected a positive time such as 2h, 90m or 5400s")
    return float(match.group(1)) * _UNITS[match.group(2) or "h"]


@dataclass(frozen=True)
class LookDesign:
    """A profile's ``looks:`` block for a paper: pairs a cell at each look, the seed sets the looks grow, and the
    alpha-spending family (analysis.sequential.Design); ``skipped``: the experiments the profile skips, which grow
    nothing; ``partial``: a look that does not fit the budget whole grows the open claims whose experiments fit,
    those it can power first (reports.looks._fit), where without it the looks stop."""
    pairs: tuple
    seed_sets: tuple
    spending: str = "obf"
    skipped: frozenset = frozenset()
    partial: bool = False

    @classmethod
    def of(cls, config: SuiteConfig, paper: str, profile_name: str | None) -> "LookDesign":
        name, profile = config.profile(profile_name, paper)
        block = profile.looks
        if not block:
            raise ConfigError(f"profile {name} declares no looks for {paper}: BUDGET needs its `looks:` block "
                              f"(pairs a cell at each look, the seed sets they grow; docs/claims.md, 'Looks')")
        return cls(tuple(block["pairs"]), tuple(block["seed_sets"]), block.get("spending", "obf"),
                   frozenset(profile.skip), bool(block.get("partial", False)))

    def grown(self, config: SuiteConfig, paper: str, names) -> list[str]:
        """The experiments among ``names`` whose seeds the looks set (not those the profile skips)."""
        declared = config.paper(paper).experiments
        return [n for n in names if n not in self.skipped and isinstance(declared[n].seeds, str)
                and declared[n].seeds in self.seed_sets]


def config_at(config: SuiteConfig, paper: str, counts: dict[str, int]) -> SuiteConfig:
    """The suite config with experiment e planned on the first counts[e] seeds of its seed set (a new seed set
    "<set>@<n>" holding them), validated as suite.yaml is; the other experiments as declared."""
    if not counts:
        return config
    data = copy.deepcopy(config.data)
    section = data["papers"][paper]
    for name, n in sorted(counts.items()):
        exp = section["experiments"][name]
        kind = exp["seeds"]
        seeds = section["seeds"][kind]
        if isinstance(seeds, list) and n > len(seeds):
            raise ConfigError(f"looks: {paper}.{name} asks {n} seeds of set {kind!r}, which lists {len(seeds)}")
        section["seeds"][f"{kind}@{n}"] = seeds[:n] if isinstance(seeds, list) else n
        exp["seeds"] = f"{kind}@{n}"
    return SuiteConfig(config.path, data, *validate(data, config.path))


def first_counts(design: LookDesign, config: SuiteConfig, paper: str, names) -> dict[str, int]:
    """Look 1: every grown experiment at the first look's pairs."""
    return {n: design.pairs[0] for n in design.grown(config, paper, names)}


def next_counts(design: LookDesign, config: SuiteConfig, paper: str, counts: dict[str, int], needed,
                pairs: int) -> dict[str, int]:
    """The next look's counts: ``needed`` experiments (those an undecided claim reads) at ``pairs``, and the
    experiments whose trials teach them at as many (a student of seed s reads its teacher of seed s); the rest
    stay where they are."""
    declared = config.paper(paper).experiments
    out = dict(counts)
    todo = list(needed)
    while todo:
        name = todo.pop()
        if name in out and out[name] < pairs:
            out[name] = pairs
        todo += [t for t in teacher_sources(declared[name], name) if t in out and out[t] < pairs]
    return out


def slots(config: SuiteConfig, paper: str, profile_name: str | None) -> int:
    """Trials at a time on this machine at the paper's view of the profile (pipelines.plan.slots)."""
    return plan_slots(config.profile(profile_name, paper)[1])


def measured_hours(runs) -> dict[str, float]:
    """{trial id: hours it trained and evaluated} of finished runs (their train_seconds + eval_seconds)."""
    if runs.empty or "train_seconds" not in runs:
        return {}
    seconds = runs["train_seconds"].astype(float)
    if "eval_seconds" in runs:
        seconds = seconds + runs["eval_seconds"].astype(float).fillna(0)
    return {t: s / 3600 for t, s in zip(runs["trial_id"], seconds) if math.isfinite(s)}


def look_hours(plan: Plan, profile, measured: dict[str, float]) -> tuple[float, float]:
    """(hours of the plan's trials already run, hours of those still to run): the first measured, the second the
    mean measured hours of the experiment's finished trials where there are some, else the profile's cost model."""
    done = todo = 0.0
    seen: set[str] = set()
    for name, members in plan.experiments.items():
        ids = [m.trial_id for m in members if m.trial_id not in seen]
        seen |= set(ids)
        ran = [measured[t] for t in ids if t in measured]
        mean = sum(ran) / len(ran) if ran else None
        for t in ids:
            if t in measured:
                done += measured[t]
            else:
                todo += mean if mean is not None else trial_hours(plan.specs[t].config, profile)
    return done, todo


def growth_hours(plan: Plan, profile, measured: dict[str, float], counts: dict[str, int],
                 grown: dict[str, int]) -> float:
    """Trial-hours that growing a finished look's experiments from ``counts`` to ``grown`` seeds would add, read from
    that look alone: each of its trials (at its measured hours, else its experiment's mean, else the cost model)
    scaled by the largest relative growth among the experiments that plan it (seeds are nested: n -> m seeds adds
    (m - n) / n trials a planned trial). Fixed once the look has run, so a replay after the next look ran makes the
    same choice the live run made before it."""
    factor: dict[str, float] = {}
    for name, members in plan.experiments.items():
        n, m = counts.get(name), grown.get(name)
        ratio = (m - n) / n if n and m and m > n else 0.0
        for member in members:
            factor[member.trial_id] = max(factor.get(member.trial_id, 0.0), ratio)
    hours = 0.0
    for name, members in plan.experiments.items():
        ran = [measured[m.trial_id] for m in members if m.trial_id in measured]
        for member in members:
            t = member.trial_id
            if factor.get(t):
                cost = measured.get(t, sum(ran) / len(ran) if ran else trial_hours(plan.specs[t].config, profile))
                hours += cost * factor.pop(t)  # popped: a trial two experiments plan counts once
    return hours


def schedule(config: SuiteConfig, paper: str, profile_name: str | None, experiments, budget: float,
             n_slots: int) -> str:
    """`make plan BUDGET=...`: each look's trials and hours were every claim still open at it (the most the looks
    can cost: a look grows only what undecided claims read), against the budget; with ``partial`` looks, a look that
    does not fit whole grows the open claims that fit."""
    from pipelines.plan import make_plan
    design = LookDesign.of(config, paper, profile_name)
    name, profile = config.profile(profile_name, paper)
    grown = design.grown(config, paper, config.experiments(paper, experiments))
    lines = [f"Looks for {paper} at profile {name} (BUDGET {budget:g} h at {n_slots} trial(s) at a time; seed sets "
             f"{', '.join(design.seed_sets)}: {', '.join(grown) or 'no experiment'}), were every claim open:",
             f"{'look':>4} {'pairs':>5} {'trials':>7} {'CPU-hours':>10} {'wall h':>7}  fits"]
    for k, n in enumerate(design.pairs):
        plan = make_plan(config_at(config, paper, {e: n for e in grown}), paper, profile_name, experiments)
        hours = sum(trial_hours(s.config, profile) for s in plan.unique())
        wall = hours / n_slots
        shown = wall if wall <= budget else math.ceil(wall * 100) / 100  # over the budget never prints as equal to it
        lines.append(f"{k + 1:>4} {n:>5} {len(plan.unique()):>7} {hours:>10.1f} {shown:>7.2f}  "
                     + ("yes" if wall <= budget else "no: it grows the open claims that fit, those it can power first"
                        if design.partial and k else "no: the looks stop before it unless claims are decided"))
    return "\n".join(lines)
