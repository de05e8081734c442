"""A budgeted study's looks, replayed from its finished runs (issue 28, item 2): which looks ran, what each claim
read at each one, and its group-sequential verdict (analysis.sequential).

`replay` walks the looks of a profile's ``looks:`` block (pipelines.looks) in order. At look k it plans the
experiments at that look's seeds, tests every claim on the first n pairs (the report module's own claim checks,
before Holm), and decides them with the design's boundaries (group-sequential Holm across the confirmatory claims).
The next look grows only the experiments an undecided claim reads (found by hiding one experiment's runs at a time
and seeing which claims' tests change), if its cost fits the budget: the hours the looks' finished trials took
(their logged train and evaluation seconds) plus the next look's trials at their experiment's mean, over the trials
this machine runs at a time. The live run (pipelines.cli) and the report both replay, so a report rebuilt from its
data (or after a larger BUDGET reused every finished trial) makes the same looks and verdicts.
"""
from __future__ import annotations

import dataclasses
import importlib
import math
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from analysis import engine
from analysis.claims import COULD_NOT_TELL, NOT_REPRODUCED, REPRODUCED
from analysis.sequential import CONTINUE, Design, Sequential, decide
from pipelines.availability import blocked
from pipelines.config import SuiteConfig
from pipelines.looks import (LookDesign, config_at, first_counts, growth_hours, look_hours, measured_hours,
                             next_counts)
from pipelines.plan import Plan
from pipelines.selection import members_frame, resolved_plan
from reports.render import markdown_table, write_table


@dataclass
class Look:
    counts: dict  # experiment -> seeds at this look
    plan: Plan
    hours_done: float  # trial-hours its finished trials took
    hours_todo: float  # trial-hours of its trials not yet run (estimated)
    needed: dict = field(default_factory=dict)  # claim -> the grown experiments it reads (after this look)
    grows: list = field(default_factory=list)  # the open claims the next look's seeds go to (after this look)
    held: list = field(default_factory=list)  # open claims the budget left out of a partial next look


@dataclass
class Replay:
    design: LookDesign
    sequential: Design
    budget: float  # wall hours
    slots: int  # trials at a time
    looks: list  # the looks that ran (Look), in order
    verdicts: dict  # claim id -> Sequential (claims the engine decides)
    next: Look | None  # the look to run now (live), or None
    stop: str  # why the looks end here
    decided_on: dict = field(default_factory=dict)  # claim id -> its engine Result at the look its verdict is from

    @property
    def spent(self) -> float:
        """Wall hours the looks that ran took, at ``slots`` trials at a time."""
        return self.looks[-1].hours_done / self.slots if self.looks else 0.0

    @property
    def plan(self) -> Plan | None:
        return self.looks[-1].plan if self.looks else None


def _results(verdicts: list[dict]) -> dict:
    """{claim id: its engine Result (named, exploratory flag set)} of the claims the engine decides."""
    return {v["id"]: dataclasses.replace(v["result"], claim=v["id"]) for v in verdicts if "result" in v}


def _key(result) -> tuple:
    fmt = (lambda x: round(x, 12) if math.isfinite(x) else "nan")
    return (fmt(result.p), result.premise, tuple((t.unit.label, t.unit.task, fmt(t.p), t.pairs, t.reason)
                                                 for t in result.tests))


def needed_experiments(make_ctx: Callable, module, plan: Plan, claims: list[str], grown: list[str]) -> dict:
    """{claim: the grown experiments whose runs its tests read}: an experiment's runs hidden (its frame empty, its
    curves none), the claims whose tests change read it."""
    base = _results(module.claim_verdicts(make_ctx(plan)))
    out: dict[str, list[str]] = {c: [] for c in claims}
    for name in grown:
        if name not in plan.experiments:
            continue
        ctx = make_ctx(plan)
        ctx._trials[name] = members_frame(plan, name, ctx.runs.iloc[:0])
        curves = ctx.curves
        ctx.curves = (lambda e, k, _n=name, _c=curves: {} if e == _n else _c(e, k))
        hidden = _results(module.claim_verdicts(ctx))
        for c in claims:
            if _key(hidden[c]) != _key(base[c]):
                out[c].append(name)
    return out


def replay(config: SuiteConfig, paper: str, profile_name: str, experiments, budget: float, slots: int,
           runs: pd.DataFrame, failed: dict, make_ctx: Callable, searched: dict | None = None) -> Replay:
    """The looks the finished ``runs`` (and ``failed`` trial ids) show under ``budget`` wall hours at ``slots``
    trials at a time. ``make_ctx(plan)``: a ReportContext over the runs for a look's plan."""
    design = LookDesign.of(config, paper, profile_name)
    seq = Design(looks=design.pairs, spending=design.spending)
    _, profile = config.profile(profile_name, paper)
    module = importlib.import_module(f"reports.{config.paper(paper)['report']}")
    names = config.experiments(paper, experiments)
    grown = design.grown(config, paper, names)
    measured = measured_hours(runs)
    attempted = set(runs.get("trial_id", [])) | set(failed)  # finished or failed on every attempt
    counts = first_counts(design, config, paper, names)
    looks: list[Look] = []
    history: list[list] = []
    stop = ""
    for k in range(len(design.pairs)):
        plan = resolved_plan(config_at(config, paper, counts), paper, profile_name, experiments, runs, searched)
        done, todo = look_hours(plan, profile, measured)
        look = Look(counts, plan, done, todo)
        blocked_now = blocked(plan.unique())  # trials that cannot run here never count as waiting
        if any(s.trial_id not in attempted and not blocked_now[s.trial_id] for s in plan.unique()):
            # a partial design fitted this look to the budget when the look before it ended (_fit)
            spent = looks[-1].hours_done if looks else 0.0
            if (not looks or not design.partial) and (spent + todo) / slots > budget:
                stop = (f"the budget: look {k + 1} ({design.pairs[k]} pairs) needs about {todo / slots:.2f} h more "
                        f"after {spent / slots:.2f} h, over {budget:g} h")
                break
            return _finish(design, seq, budget, slots, looks, history, look, f"look {k + 1} has not run yet")
        looks.append(look)
        results = _results(module.claim_verdicts(make_ctx(plan)))
        history.append(list(results.values()))
        decided = decide(seq, history, budget_left=True, held=_held(design, looks))
        open_ = [s.claim for s in decided if s.verdict == CONTINUE]
        if not open_:
            stop = "every claim decided" if k < len(design.pairs) - 1 else "the last look"
            return _finish(design, seq, budget, slots, looks, history, None, stop)
        look.needed = needed_experiments(make_ctx, module, plan, open_, grown)
        wanted = sorted({e for c in open_ for e in look.needed[c]})
        if not wanted:
            stop = "no undecided claim reads an experiment the looks grow"
            break
        grows, counts, why = _fit(design, config, paper, look, open_, k, budget, slots,
                                  lambda grown: growth_hours(plan, profile, measured, look.counts, grown),
                                  {c: results[c].needed for c in open_})
        if not grows:
            stop = f"the budget: {why}"
            break
        look.grows, look.held = grows, [c for c in open_ if look.needed[c] and c not in grows]
    return _finish(design, seq, budget, slots, looks, history, None, stop or "the budget")


def _fit(design: LookDesign, config: SuiteConfig, paper: str, look: Look, open_: list, k: int, budget: float,
         slots: int, cost: Callable, power_pairs: dict | None = None) -> tuple[list, dict, str]:
    """(the open claims look k + 2 grows, its seed counts, why the budget stops it) under ``budget`` wall hours at
    ``slots`` trials at a time. Without ``design.partial``, the whole look (replay checks it when it plans it, as
    look 1). With it: the whole look if it fits, else the claims whose experiments fit, one at a time while the sum
    fits: first those the next look can power (``power_pairs``: the power rule's pairs at most the look's), then
    those with no estimate, then those it cannot power, each group cheapest first (``cost``: trial-hours, read from
    this look's own trials, pipelines.looks.growth_hours). The order reads costs and spreads, no claim's effect. A
    claim left out keeps its data and is re-tested at the later looks' thresholds: the same p against a looser line
    crosses with probability at most the last line's, so its alpha still holds."""
    pairs = design.pairs[k + 1]
    reading = [c for c in open_ if look.needed[c]]
    whole = next_counts(design, config, paper, look.counts, sorted({e for c in reading for e in look.needed[c]}),
                        pairs)
    if not design.partial:  # whole or not at all: replay's next step checks it against the budget
        return reading, whole, ""
    spent, need = look.hours_done, cost(whole)
    if (spent + need) / slots <= budget:
        return reading, whole, ""
    why = (f"look {k + 2} ({pairs} pairs) needs about {need / slots:.2f} h more after {spent / slots:.2f} h, over "
           f"{budget:g} h")
    alone = {c: cost(next_counts(design, config, paper, look.counts, look.needed[c], pairs)) for c in reading}
    grows, counts = [], look.counts
    power_pairs = power_pairs or {}
    # 0: the power rule's pairs within the next look's; 1: no estimate (no effect or spread to read); 2: beyond it
    group = {c: 1 if power_pairs.get(c) is None else 0 if power_pairs[c] <= pairs else 2 for c in reading}
    for c in sorted(reading, key=lambda c: (group[c], alone[c], reading.index(c))):
        trial = next_counts(design, config, paper, counts, look.needed[c], pairs)
        if (spent + cost(trial)) / slots <= budget:
            grows, counts = grows + [c], trial
    return grows, counts, why if grows else why + ", and no open claim's share of it fits"


def _held(design: LookDesign, looks: list) -> Callable | None:
    """With partial looks: the pairs a cell a claim's data holds at look k (0-based), its seeds grown only at the
    looks whose seeds went to it (Look.grows); None (each look's declared count) otherwise."""
    if not design.partial:
        return None

    def held(claim: str, k: int) -> int:
        n = design.pairs[0]
        for i in range(min(k, len(looks))):
            if claim in looks[i].grows:
                n = design.pairs[i + 1]
        return n
    return held


def _finish(design, seq, budget, slots, looks, history, nxt: Look | None, stop: str) -> Replay:
    """Sequential verdicts at the looks that ran; a claim still undecided reads "could not tell", with why the looks
    end here (``nxt``: the next look, which the live run runs before it replays again)."""
    verdicts: dict[str, Sequential] = {}
    decided_on = {}
    for i, s in enumerate(decide(seq, history, budget_left=True, held=_held(design, looks)) if history else []):
        if s.verdict == CONTINUE:
            s = dataclasses.replace(s, verdict=COULD_NOT_TELL,
                                    reason=f"undecided after look {s.look} ({s.pairs} pairs); the looks end here: "
                                           f"{stop}")
        verdicts[s.claim] = s
        decided_on[s.claim] = history[s.look - 1][i]
    return Replay(design, seq, budget, slots, looks, verdicts, nxt, stop, decided_on)


def sequential_verdicts(ctx, verdicts: list[dict]) -> list[dict]:
    """A budgeted report's claim rows with their sequential verdicts (the fixed-sample ones otherwise): the
    verdict, why (the look and its boundary), the effect, pairs and power at the look the verdict is from, and the
    claim's p there in place of the Holm-adjusted one (group-sequential Holm has no single adjusted p: each look's
    threshold is in the looks section)."""
    replayed = ctx.memo.get("looks")
    if not replayed:
        return verdicts
    out = []
    for v in verdicts:
        s = replayed.verdicts.get(v["id"])
        if s is None:
            out.append(v)
            continue
        at = engine.decide([replayed.decided_on[s.claim]])[0]  # its effect, pairs and power at that look
        row = {**v, "verdict": s.verdict, "reason": f"{s.reason} (sequential, look {s.look} of "
                                                   f"{len(replayed.design.pairs)})",
               "p": s.p[-1] if s.p else float("nan"), "p_adjusted": float("nan"), "effect": at.effect,
               "pairs": at.pairs, "power": at.power}
        if s.verdict not in (REPRODUCED, NOT_REPRODUCED):  # its needs at its Holm share, sequentially
            per_pair = v.get("hours_per_pair", float("nan"))
            row.update(pairs_needed=s.needed, needed_basis=s.needed_basis,
                       hours_needed=per_pair * s.needed if s.needed else float("nan"))
        out.append(row)
    return out


def _fmt_p(values) -> str:
    return ", ".join("–" if not math.isfinite(x) else f"{x:.3g}" for x in values) or "–"


def grown_text(look: Look) -> str:
    """The grown experiments that plan trials at this look, with their seeds."""
    plan = look.plan
    return ", ".join(f"{e} {n}" for e, n in sorted(look.counts.items())
                     if plan.experiments.get(e) and e not in plan.skipped and e not in plan.pending) or "–"


def section(ctx) -> str:
    """The looks of a budgeted run: the design and its boundaries, what each look ran, and what each claim got."""
    replayed = ctx.memo.get("looks")
    if not replayed:
        return ""
    seq, design = replayed.sequential, replayed.design
    spending = {"obf": "Lan-DeMets O'Brien-Fleming", "pocock": "Lan-DeMets Pocock"}[seq.spending]
    lines = ["## Looks: seeds where they decide, under a budget",
             f"Budget {replayed.budget:g} h wall at {replayed.slots} trial(s) at a time; the looks that ran took "
             f"{replayed.spent:.2f} h (their trials' logged train and evaluation time). The looks end here: "
             f"{replayed.stop}. Seeds grow in the seed sets {', '.join(design.seed_sets)}; other experiments keep "
             f"the profile's seeds.",
             f"Design declared in advance: looks at {', '.join(map(str, design.pairs))} pairs a cell, one-sided "
             f"alpha {seq.alpha:g} spent by the {spending} function, a claim crossing at a look when its p is below "
             f"that look's threshold (at its Holm share: alpha / the confirmatory claims still open, "
             f"group-sequentially, Ye et al. 2013); non-binding futility by beta-spending for the power rule "
             f"(power {seq.power:g} at the paper's effect). A look's seeds go only to the experiments an undecided "
             f"claim reads." + (" A look that does not fit the budget whole gives its seeds to the undecided claims "
                                "whose experiments fit (the looks block's `partial: true`): first those the look "
                                "can power by the power rule, then those with no estimate, then the rest, each "
                                "cheapest first by the look before's trial-hours; a claim left out keeps its data "
                                "and is re-tested at the later looks' thresholds, which only spends less of its "
                                "alpha." if design.partial else "")]
    tables = ctx.out_dir / "tables"
    header = ["Look", "Pairs", "Alpha spent (cumulative)", "p threshold at alpha"]
    rows = [[str(r["look"]), str(r["pairs"]), f"{r['alpha spent']:.4f}", f"{r['p below']:.4g}"] for r in seq.table()]
    write_table(tables / "looks_design.tex", header, rows, "Looks: the design's boundaries", "tab:looks-design")
    lines.append(markdown_table(header, rows))
    rows = []
    for i, look in enumerate(replayed.looks):
        rows.append([str(i + 1), grown_text(look), str(len(look.plan.unique())), f"{look.hours_done:.2f}"])
    if replayed.next is not None:
        rows.append([f"{len(replayed.looks) + 1} (not run)", grown_text(replayed.next),
                     str(len(replayed.next.plan.unique())),
                     f"{replayed.next.hours_done + replayed.next.hours_todo:.2f} (est.)"])
    header = ["Look", "Seeds by experiment", "Trials (cumulative)", "Trial-hours"]
    partial = [f"Look {i + 2}{'' if i + 1 < len(replayed.looks) else ' (not run yet)'} did not fit the budget "
               f"whole: its seeds went to {', '.join(look.grows)} (the open claims that fit: those the look can "
               f"power first, each group cheapest first); "
               f"{', '.join(look.held)} kept the pairs they had." for i, look in enumerate(replayed.looks) if look.held]
    write_table(tables / "looks_runs.tex", header, rows, "Looks: what each look ran", "tab:looks-runs",
                notes=[f"Budget {replayed.budget:g} h at {replayed.slots} trial(s) at a time; spent "
                       f"{replayed.spent:.2f} h. The looks end here: {replayed.stop}.", *partial])
    lines.append(markdown_table(header, rows))
    lines += partial
    needed = {}
    for look in replayed.looks:
        needed.update(look.needed)
    rows = [[s.claim, s.verdict, str(s.look), str(s.pairs), _fmt_p(s.p), _fmt_p(s.thresholds),
             ", ".join(needed.get(s.claim, [])) or "–"] for s in replayed.verdicts.values()]
    header = ["Claim", "Verdict", "Look", "Pairs", "p at each look", "Threshold at each look",
              "Grew (experiments it reads)"]
    write_table(tables / "looks_claims.tex", header, rows, "Looks: each claim's p against its boundary",
                "tab:looks-claims", notes=["Threshold: the look's boundary at the claim's Holm share of alpha."])
    lines.append(markdown_table(header, rows))
    return "\n\n".join(lines)

