"""Report spec for "Methods to Improve Downstream Generalization of minBERT" (Venkateswaran, CS224N 2024): Figure 2's
ablations from B3 (the text's deltas beside ours), SWA beside its control, the three ensembles, the rows not run,
a figure of each ablation's paired change, and the claims. Published numbers:
reports/published/minbert_generalization.yaml."""
from __future__ import annotations

from reports.build import ReportContext
from reports.index import not_run_reasons
from reports.kit import coverage
from reports.minbert_generalization import claims, figures, tables
from reports.multitask import header


def render(ctx: ReportContext) -> str:
    planned, done, _ = not_run_reasons(ctx.plan, ctx.runs, ctx.failed)
    sections = [coverage(ctx), tables.section_ablations(ctx), figures.section_changes(ctx), tables.section_swa(ctx),
                tables.section_ensembles(ctx), claims.section_claims(ctx)]
    kept = "the best validation overall score"
    return header(ctx, kept, planned, done) + "\n\n" + "\n\n".join(sections) + "\n"


def claim_verdicts(ctx: ReportContext) -> list[dict]:
    return claims.verdicts(ctx)
