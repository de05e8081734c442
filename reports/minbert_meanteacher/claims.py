"""Claim verdicts for Qin & Tran (reports/published/minbert_meanteacher.yaml): the plain average (Pearson r not
normalised), tests as reports.multitask_claims runs them."""
from __future__ import annotations

from reports.build import ReportContext
from reports.kit import engine_claims_section
from reports.multitask_claims import METHOD
from reports.multitask_claims import verdicts as check_all


def verdicts(ctx: ReportContext) -> list[dict]:
    return check_all(ctx, normalised=False)


def section_claims(ctx: ReportContext) -> str:
    return engine_claims_section(ctx, verdicts(ctx), METHOD)
