"""Claim verdicts for Venkateswaran (reports/published/minbert_generalization.yaml): the shared kinds
(reports.multitask_claims) with the overall score normalised, plus SWA against its within-run control and the
ensembles against their members, paired by group of 4 seeds."""
from __future__ import annotations

from reports.build import ReportContext
from reports.comparisons import Comparisons, all_of
from reports.kit import engine_claims_section
from reports.minbert_generalization import ensembles
from reports.multitask import arm_scores, majority
from reports.multitask_claims import METHOD, pairs
from reports.multitask_claims import verdicts as check_all


def swa(ctx: ReportContext, check: dict, normalised: bool = True) -> dict:
    """SWA ≈ its control (the same run's last weights) on the overall score, as the claim's shape says (the study
    notes: an equivalence interval of ±0.5 points)."""
    path = f"{check['experiment']}.{check['arm']}"
    b, w = pairs(arm_scores(ctx, path, "avg", "test", normalised, metric_prefix="swa_"),
                 arm_scores(ctx, path, "avg", "test_last", normalised))
    found = Comparisons(ctx, check["shape"])
    found.add("SWA − control", b, w, "avg", baseline=majority(ctx, "avg"))
    return found.verdict()


def _group_gain(ctx: ReportContext, check: dict, better: str, worse: str, expected: float | None = None) -> dict:
    """``better`` beats ``worse`` on the overall score, paired by group of 4 seeds (``expected``: the paper's gain)."""
    found = Comparisons(ctx)
    groups = ensembles.group_scores(ctx, check["experiment"], check["arm"])
    found.add("Overall", [g[better]["avg"] for g in groups], [g[worse]["avg"] for g in groups], "avg",
              expected=expected, baseline=0.0)
    return found.verdict()


def ensemble(ctx: ReportContext, check: dict, normalised: bool = True) -> dict:
    over_best = check.get("paper_gain_over_best")  # the paper's own gain (reports/published: Sec. 5.4)
    return all_of([("mean vs best member", _group_gain(ctx, check, "mean", "best_member", expected=over_best)),
                   ("mean vs member mean", _group_gain(ctx, check, "mean", "member_mean"))])


def selective(ctx: ReportContext, check: dict, normalised: bool = True) -> dict:
    return _group_gain(ctx, check, "selective", "mean")


def verdicts(ctx: ReportContext) -> list[dict]:
    return check_all(ctx, normalised=True, kinds={"swa": swa, "ensemble": ensemble, "selective": selective})


def section_claims(ctx: ReportContext) -> str:
    return engine_claims_section(ctx, verdicts(ctx), METHOD)
