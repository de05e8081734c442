"""Claim verdicts for Kobyzev et al., as reports/published/labelreg.yaml lists them. Each comparison is paired by
seed (the same seed's split, data order and head for both arms) and tested per task with an exact one-sided
Wilcoxon signed-rank test; Fisher's method combines the tasks that carry a signal (analysis.claims.verdict). A "no gain" claim for pre-trained students counts only when
its positive control, the same regularizer's gain for randomly initialised students, is significant on the same
tasks at the same number of seeds; otherwise the verdict says the test could not tell."""
from __future__ import annotations

import numpy as np

from analysis import claims as tests
from reports.build import ReportContext
from reports.kit import SEED, claims_section, degenerate_threshold
from reports.labelreg.tables import ROW_NAMES, scores


def _paired(ctx, experiment: str, task: str, base: str, arm: str, split: str = "test"):
    a, seeds_a = scores(ctx, experiment, task, arm, split)
    b, seeds_b = scores(ctx, experiment, task, base, split)
    shared = sorted(set(seeds_a) & set(seeds_b))
    return (np.array([a[seeds_a.index(s)] for s in shared]), np.array([b[seeds_b.index(s)] for s in shared]))


def evaluate(ctx: ReportContext, claim: dict,
             control: tests.Verdict | None = None) -> tuple[tests.Verdict, dict[str, float]]:
    """Per task: test score of the arm vs its base, paired by seed; one-sided in the direction of a gain.
    Returns the verdict and the per-task p-values (a combined p can hide a task that goes the other way)."""
    check = claim["check"]
    pvalues, reasons, floors, runs = {}, {}, {}, []
    for experiment, base in check["pairs"]:
        if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments or \
                check["arm"] not in ctx.paper["experiments"][experiment]["arms"]:
            continue
        for task in dict.fromkeys(m.task for m in ctx.plan.experiments[experiment]):
            better, worse = _paired(ctx, experiment, task, base, check["arm"])
            baseline = degenerate_threshold(ctx, task) if len(better) else None
            reason = tests.signal([better, worse], baseline)
            reasons[task] = reason
            if reason is None:
                test = tests.wilcoxon_paired(better, worse, alternative="greater")
                pvalues[task] = test.pvalue
                floors[task] = tests.smallest_p(len(better), "greater")
                runs.append(len(better))
    return tests.verdict(pvalues, reasons, check["kind"] == "gain", control, floors=floors,
                         seeds=min(runs) if runs else None,
                         control_name=f"the random-init gain of {ROW_NAMES[check['arm']]}"), pvalues


def verdicts(ctx: ReportContext) -> list[dict]:
    claims = ctx.published["claims"]
    results: dict[str, tuple[tests.Verdict, dict]] = {}
    for claim in sorted(claims, key=lambda c: "control" in c["check"]):  # controls first: claims without one
        if claim["check"]["kind"] != "table8":
            control = results.get(claim["check"].get("control"), (None, {}))[0]
            results[claim["id"]] = evaluate(ctx, claim, control)
    out = []
    for claim in claims:
        statement = f"{claim['statement']} ({claim['section']})"
        if claim["check"]["kind"] == "table8":
            out.append({"id": claim["id"], "statement": statement, **table8_verdict(ctx, claim["check"])})
        else:
            result, pvalues = results[claim["id"]]
            per_task = ", ".join(f"{task} {p:.3g}" for task, p in pvalues.items())
            out.append({"id": claim["id"], "statement": statement, "verdict": result.verdict,
                        "reason": result.reason + (f" (one-sided p per task: {per_task})" if len(pvalues) > 1
                                                   else "")})
    return out


def table8_verdict(ctx: ReportContext, check: dict) -> dict:
    """Table 8's pattern: two-sided p >= .05 for pre-trained students and < .05 from scratch, base vs each arm
    on the task's test accuracy, paired by seed."""
    cells, reasons = [], []
    for arm in check["arms"]:
        for (experiment, base), significant in ((check["pretrained"], False), (check["scratch"], True)):
            if experiment not in ctx.plan.experiments or experiment in ctx.plan.skipped:
                reasons.append(f"{experiment} not run")
                continue
            better, worse = _paired(ctx, experiment, check["task"], base, arm)
            if len(better) < 2:
                reasons.append(f"{experiment} {arm}: fewer than 2 paired seeds")
                continue
            test = tests.wilcoxon_paired(better, worse)
            if significant and tests.smallest_p(test.n) >= tests.ALPHA:
                reasons.append(f"{experiment} {arm}: {test.n} untied pairs cannot reach p < {tests.ALPHA} two-sided")
                continue
            cells.append((experiment, arm, test.pvalue, (test.pvalue < tests.ALPHA) == significant))
    if reasons:
        kind = tests.NOT_RUN if all("not run" in r for r in reasons) and not cells else tests.COULD_NOT_TELL
        return {"verdict": kind, "reason": "; ".join(reasons)}
    held = all(ok for *_, ok in cells)
    detail = "; ".join(f"{e} {a}: p {p:.3g}" for e, a, p, _ in cells)
    return {"verdict": tests.REPRODUCED if held else tests.NOT_REPRODUCED, "reason": detail}


def section_claims(ctx: ReportContext) -> str:
    return claims_section(ctx, verdicts(ctx),
                          "Paired by seed, exact one-sided Wilcoxon signed-rank per task (test scores), Fisher-combined "
                          "over the tasks with signal. A no-gain claim is reproduced only when the random-init gain of "
                          "the same regularizer (its positive control) is significant on the same tasks. Draws: seed "
                          f"{SEED}.")
