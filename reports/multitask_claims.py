"""Claim checks shared by the two CS224N minBERT reports (claims as data in reports/published/<paper>.yaml). Every
comparison is paired by seed (both arms share init and data order) on held-out test scores at each run's kept
epoch, one task at a time, decided by the claims engine as each claim's shape says (reports.comparisons: exact
sign-flip tests, every task by intersection-union, no change within a margin, a premise the profile lacks, Holm
across the claims). Both reports rest on single runs."""
from __future__ import annotations

import numpy as np

from reports.build import ReportContext
from reports.comparisons import Comparisons, all_of, holm
from reports.kit import hours_per_trial
from reports.multitask import PART_NAMES, arm_scores, majority
from trainers.multitask.train import pool_sizes


def pairs(better: dict, worse: dict) -> tuple[np.ndarray, np.ndarray]:
    shared = sorted(set(better) & set(worse))
    return np.array([better[s] for s in shared]), np.array([worse[s] for s in shared])


def _scores(ctx: ReportContext, path: str, part: str, normalised: bool) -> dict:
    experiment, arm = path.split(".")
    kept = {}
    if "@" in arm:  # experiment.arm@setting=value: one grid point of the arm
        arm, point = arm.split("@")
        key, value = point.split("=")
        kept = {key: int(value) if value.isdigit() else value}
    return arm_scores(ctx, f"{experiment}.{arm}", part, normalised=normalised, **kept)


def paper_gain(ctx: ReportContext, check: dict, part: str) -> float | None:
    """The paper's gain of ``better`` over ``worse`` on a task (its Table 1 cells, x 100), where it prints both."""
    cells = {row["arm"]: row.get("cells") for row in (ctx.published.get("table1") or {}).get("rows", [])}
    column = ["sst", "para", "sts", "avg"].index(part)
    b, w = cells.get(check["better"]), cells.get(check["worse"])
    return None if not b or not w else 100 * (b[column] - w[column])


def imbalance(ctx: ReportContext, path: str) -> float | None:
    """How unbalanced an arm's training pools are: its largest task's examples over its smallest's."""
    experiment, arm = path.split(".")
    specs = [ctx.plan.specs[m.trial_id] for m in ctx.plan.experiments.get(experiment, []) if m.arm == arm]
    if not specs:
        return None
    sizes = pool_sizes(specs[0].config)
    return max(sizes.values()) / min(sizes.values())


def gain(ctx: ReportContext, check: dict, normalised: bool = False) -> dict:
    """``better`` beats ``worse`` on each of ``tasks`` (the claims engine: exact sign-flip tests, every task). With
    ``min_imbalance``, only where ``worse``'s pools are at least that unbalanced (the condition the claim is about):
    otherwise "could not tell", said why."""
    ratio = imbalance(ctx, check["worse"]) if "min_imbalance" in check else None
    premise = (f"the pools are {ratio:.1f}x unbalanced, the claim is about {check['min_imbalance']}x or more "
               f"({check.get('why', '')})" if ratio is not None and ratio < check["min_imbalance"] else None)
    found = Comparisons(ctx, check.get("shape"))
    for part in check["tasks"]:
        b, w = pairs(_scores(ctx, check["better"], part, normalised), _scores(ctx, check["worse"], part, normalised))
        found.add(PART_NAMES[part], b, w, part, paper_gain(ctx, check, part), baseline=majority(ctx, part))
    return found.verdict(premise)


def ordered(ctx: ReportContext, check: dict, normalised: bool = False) -> dict:
    """Each setting in ``sizes`` beats the next (batch 8 > 32 > 64) on the average."""
    path, key, sizes = f"{check['experiment']}.{check['arm']}", check["setting"], check["sizes"]
    steps = [(f"{key} {a} > {b}", gain(ctx, {"better": f"{path}@{key}={a}", "worse": f"{path}@{key}={b}",
                                              "tasks": ["avg"]}, normalised)) for a, b in zip(sizes, sizes[1:])]
    return all_of(steps)


KINDS = {"gain": gain, "no_change": gain, "ordered": ordered}  # no_change: the shape's no_gain decides


def verdicts(ctx: ReportContext, normalised: bool, kinds: dict | None = None) -> list[dict]:
    """Every claim of the paper's published file, checked by its kind (KINDS, and a paper's own ``kinds``)."""
    checks = {**KINDS, **(kinds or {})}
    out = []
    for claim in ctx.published["claims"]:
        check = {**claim["check"], "shape": claim.get("shape")}
        result = checks[check["kind"]](ctx, check, normalised)
        out.append({"id": claim["id"], "statement": claim["statement"], "section": claim["section"], **result})
    return holm(out, ctx.published["claims"], hours_per_trial(ctx))


METHOD = ("Gains: an exact one-sided sign-flip test of the paired differences by seed on held-out test scores (x 100) "
          "per task; a claim over several tasks or steps holds when every one does (intersection-union: its p is "
          "the largest); p in brackets: Holm-adjusted over the report's claims decided this way. A gain that is not significant "
          "reads \"not reproduced\" only when it goes the other way significantly or the seeds had 80% power for "
          "the paper's gain; otherwise \"could not tell\". A no-change claim (its shape: no_gain within a margin) "
          "is \"reproduced\" only when exact sign-flip tests put the paired mean difference within its margin on "
          "every task (two one-sided tests; \"no better\": one), \"not reproduced\" when a gain (or difference) "
          "significantly over the margin shows. The papers' own numbers are single runs.")
