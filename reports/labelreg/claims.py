"""Claim verdicts for Kobyzev et al. Each comparison is paired by seed (the same seed's split, data order and head
for both arms) and tested per task with an exact one-sided Wilcoxon signed-rank test; Fisher's method combines the
tasks that carry a signal (analysis.claims.verdict). A "no gain" claim for pre-trained students counts only when
its positive control, the same regularizer's gain for randomly initialised students, is significant on the same
tasks at the same number of seeds; otherwise the verdict says the test could not tell."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis import claims as tests
from reports.build import ReportContext
from reports.kit import SEED, degenerate_threshold
from reports.labelreg.tables import ROW_NAMES, scores
from reports.render import markdown_table

# (experiment of pre-trained students, its Finetune arm), (experiment of random-init students, its base arm)
PRETRAINED = [("glue", "finetune"), ("sst5", "finetune"), ("fewrel", "finetune")]
RANDOM = [("glue_random", "base"), ("sst5_random", "base")]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    arm: str
    expects_effect: bool
    pairs: list  # (experiment, its base arm)


CLAIMS = [Claim(f"ri_gain_{arm}", f"Randomly initialised students gain from {ROW_NAMES[arm]} over Base (Table 7, 9)",
                arm, True, RANDOM) for arm in ("kd", "tfreg", "ls", "selfkd")] + \
         [Claim(f"{arm}_no_gain", f"Pre-trained students do not gain from {ROW_NAMES[arm]} over Finetune "
                f"(Tables 1, 4, 5)", arm, False, PRETRAINED) for arm in ("kd", "tfreg", "ls", "selfkd")]


def _paired(ctx, experiment: str, task: str, base: str, arm: str, split: str = "test"):
    a, seeds_a = scores(ctx, experiment, task, arm, split)
    b, seeds_b = scores(ctx, experiment, task, base, split)
    shared = sorted(set(seeds_a) & set(seeds_b))
    return (np.array([a[seeds_a.index(s)] for s in shared]), np.array([b[seeds_b.index(s)] for s in shared]))


def evaluate(ctx: ReportContext, claim: Claim, control: tests.Verdict | None = None) -> tests.Verdict:
    """Per task: test score of the arm vs its base, paired by seed; one-sided in the direction of a gain."""
    pvalues, reasons, floors, runs = {}, {}, {}, []
    for experiment, base in claim.pairs:
        if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments or \
                claim.arm not in ctx.paper["experiments"][experiment]["arms"]:
            continue
        for task in dict.fromkeys(m.task for m in ctx.plan.experiments[experiment]):
            better, worse = _paired(ctx, experiment, task, base, claim.arm)
            baseline = degenerate_threshold(ctx, task) if len(better) else None
            reason = tests.signal([better, worse], baseline)
            reasons[task] = reason
            if reason is None:
                test = tests.wilcoxon_paired(better, worse, alternative="greater")
                pvalues[task] = test.pvalue
                floors[task] = tests.smallest_p(len(better), "greater")
                runs.append(len(better))
    return tests.verdict(pvalues, reasons, claim.expects_effect, control, floors=floors,
                         seeds=min(runs) if runs else None, control_name=f"the random-init gain of "
                                                                         f"{ROW_NAMES[claim.arm]}")


def verdicts(ctx: ReportContext) -> list[dict]:
    out, controls = [], {}
    for claim in CLAIMS:
        control = controls.get(claim.arm) if not claim.expects_effect else None
        result = evaluate(ctx, claim, control)
        if claim.expects_effect:
            controls[claim.arm] = result
        out.append({"id": claim.id, "statement": claim.text, "verdict": result.verdict, "reason": result.reason})
    out.append(table8_verdict(ctx))
    return out


def table8_verdict(ctx: ReportContext) -> dict:
    """Table 8's pattern at 8 seeds: two-sided p >= .05 for pre-trained students and < .05 from scratch, Base vs
    TF-reg and Base vs KD on SST-5 test accuracy."""
    text = "SST-5, 8 seeds: no significant difference for pre-trained students, a significant one from scratch (Table 8)"
    cells, reasons = [], []
    for arm in ("tfreg", "kd"):
        for experiment, base, significant in (("sst5", "finetune", False), ("sst5_random", "base", True)):
            if experiment not in ctx.plan.experiments or experiment in ctx.plan.skipped:
                reasons.append(f"{experiment} not run")
                continue
            better, worse = _paired(ctx, experiment, "SST-5", base, arm)
            if len(better) < 2:
                reasons.append(f"{experiment} {arm}: fewer than 2 paired seeds")
                continue
            test = tests.wilcoxon_paired(better, worse)
            if significant and tests.smallest_p(test.n) >= tests.ALPHA:
                reasons.append(f"{experiment} {arm}: {test.n} pairs cannot reach p < {tests.ALPHA} two-sided")
                continue
            cells.append((experiment, arm, test.pvalue, (test.pvalue < tests.ALPHA) == significant))
    if reasons:
        kind = tests.NOT_RUN if all("not run" in r for r in reasons) and not cells else tests.COULD_NOT_TELL
        return {"id": "table8", "statement": text, "verdict": kind, "reason": "; ".join(reasons)}
    held = all(ok for *_, ok in cells)
    detail = "; ".join(f"{e} {a}: p {p:.3g}" for e, a, p, _ in cells)
    return {"id": "table8", "statement": text, "verdict": tests.REPRODUCED if held else tests.NOT_REPRODUCED,
            "reason": detail}


def section_claims(ctx: ReportContext) -> str:
    rows = [[v["id"], v["statement"], v["verdict"], v["reason"]] for v in verdicts(ctx)]
    return "\n\n".join([
        f"## Claim verdicts at profile {ctx.plan.profile}",
        "Paired by seed, exact one-sided Wilcoxon signed-rank per task (test scores), Fisher-combined over the tasks "
        "with signal. A no-gain claim is reproduced only when the random-init gain of the same regularizer (its "
        f"positive control) is significant on the same tasks. Draws: seed {SEED}.",
        markdown_table(["Claim", "What the paper says", "Verdict", "Why"], rows)])
