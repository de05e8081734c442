"""Report spec for "BERT's Mean Teacher and Multitask Fine-Tuning" (Qin & Tran, CS224N 2023): Table 1's eight
rows (and two that take row 7 apart), Table 2, Figures 3-5 and the claims. Published numbers:
reports/published/minbert_meanteacher.yaml."""
from __future__ import annotations

from reports.build import ReportContext
from reports.index import not_run_reasons
from reports.kit import coverage
from reports.minbert_meanteacher import claims, figures, tables
from reports.multitask import header


def render(ctx: ReportContext) -> str:
    planned, done, _ = not_run_reasons(ctx.plan, ctx.runs, ctx.failed)
    sections = [coverage(ctx), tables.section_table1(ctx), tables.section_table2(ctx), figures.section_figure3(ctx),
                figures.section_figure4(ctx), figures.section_figure5(ctx), claims.section_claims(ctx)]
    kept = "the best validation average over the tasks a run trains"
    return header(ctx, kept, planned, done) + "\n\n" + "\n\n".join(sections) + "\n"


def claim_verdicts(ctx: ReportContext) -> list[dict]:
    return claims.verdicts(ctx)
