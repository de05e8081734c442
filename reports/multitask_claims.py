"""Claim checks shared by the two CS224N minBERT reports (claims as data in reports/published/<paper>.yaml). Every
comparison is paired by seed (both arms share init and data order) on held-out test scores at each run's kept
epoch, one task at a time, and combined over tasks with Fisher's method (reports.comparisons). Both reports rest
on single runs."""
from __future__ import annotations

import numpy as np

from analysis import claims as tests
from reports.build import ReportContext
from reports.comparisons import Comparisons, all_of
from reports.multitask import PART_NAMES, arm_scores, majority


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


def gain(ctx: ReportContext, check: dict, normalised: bool = False) -> dict:
    """``better`` beats ``worse`` on each of ``tasks`` (one-sided paired t per task, Fisher-combined)."""
    found = Comparisons(ctx)
    for part in check["tasks"]:
        b, w = pairs(_scores(ctx, check["better"], part, normalised), _scores(ctx, check["worse"], part, normalised))
        found.add(PART_NAMES[part], b, w, part, paper_gain(ctx, check, part), baseline=majority(ctx, part))
    return found.verdict()


def tested(ctx: ReportContext, check: dict, normalised: bool, two_sided: bool) -> tests.Verdict:
    """The analysis layer's verdict over ``tasks`` (two-sided p for a no-change claim)."""
    pvalues, reasons, runs = {}, {}, []
    for part in check["tasks"]:
        b, w = pairs(_scores(ctx, check["better"], part, normalised), _scores(ctx, check["worse"], part, normalised))
        reason = tests.signal([b, w], majority(ctx, part) if len(b) else None)
        reasons[PART_NAMES[part]] = reason
        if reason is None:
            pvalues[PART_NAMES[part]] = tests.paired_t(b, w, "two-sided" if two_sided else "greater")
            runs.append(len(b))
    return tests.verdict(pvalues, reasons, not two_sided, seeds=min(runs) if runs else None,
                         control=control(ctx, check, normalised) if two_sided else None,
                         control_name=check.get("control"))


def no_change(ctx: ReportContext, check: dict, normalised: bool = False) -> dict:
    """``better`` ≈ ``worse`` on ``tasks``: two-sided paired t; believed only when the positive control (another
    claim's comparison, on the same task, from runs of the same size) is significant."""
    result = tested(ctx, check, normalised, True)
    b, w = pairs(_scores(ctx, check["better"], check["tasks"][0], normalised),
                 _scores(ctx, check["worse"], check["tasks"][0], normalised))
    reason = result.reason
    if len(b) > 1:
        diff = b - w
        reason += f"; mean difference {diff.mean():+.2f} points, the seeds detect ≥ {tests.detectable_gain(diff):.2f}"
    return {"verdict": result.verdict, "reason": reason}


def ordered(ctx: ReportContext, check: dict, normalised: bool = False) -> dict:
    """Each setting in ``sizes`` beats the next (batch 8 > 32 > 64) on the average."""
    path, key, sizes = f"{check['experiment']}.{check['arm']}", check["setting"], check["sizes"]
    steps = [(f"{key} {a} > {b}", gain(ctx, {"better": f"{path}@{key}={a}", "worse": f"{path}@{key}={b}",
                                              "tasks": ["avg"]}, normalised)) for a, b in zip(sizes, sizes[1:])]
    return all_of(steps)


KINDS = {"gain": gain, "no_change": no_change, "ordered": ordered}


def control(ctx: ReportContext, check: dict, normalised: bool) -> tests.Verdict:
    """The verdict of a no-change claim's positive control (``check["control_check"]``, a gain)."""
    return tested(ctx, check["control_check"], normalised, False)


def verdicts(ctx: ReportContext, normalised: bool, kinds: dict | None = None) -> list[dict]:
    """Every claim of the paper's published file, checked by its kind (KINDS, and a paper's own ``kinds``)."""
    claims = {c["id"]: c for c in ctx.published["claims"]}
    checks = {**KINDS, **(kinds or {})}
    out = []
    for claim in ctx.published["claims"]:
        check = dict(claim["check"])
        if "control" in check:
            check["control_check"] = claims[check["control"]]["check"]
        result = checks[check["kind"]](ctx, check, normalised)
        out.append({"id": claim["id"], "statement": claim["statement"], "section": claim["section"], **result})
    return out


METHOD = ("One-sided paired t-tests by seed on held-out test scores (x 100) per task, Fisher-combined over the tasks "
          "with signal; the exact Wilcoxon test's combined p is printed as a check. A gain that is not significant "
          "reads \"not reproduced\" only when it goes the other way significantly or the seeds could have seen the "
          "paper's gain (80% power); otherwise \"could not tell\". A no-change claim uses a two-sided test and is "
          "believed only when its positive control (a claim on the same task from runs of the same size) is "
          "significant. The papers' own numbers are single runs.")
