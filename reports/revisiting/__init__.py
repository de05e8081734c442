"""Report spec for "Revisiting Few-sample BERT Fine-tuning" (Zhang et al., ICLR 2021).

Each section maps one table or figure of the paper to analysis calls over the runs of one experiment and shows
the published numbers (reports/published/revisiting.yaml) beside ours; the claims close the report.
"""
from __future__ import annotations

from reports.build import ReportContext
from reports.index import not_run_reasons
from reports.kit import coverage
from reports.render import counted
from reports.revisiting import bias, claims, reinit_figures, tables
from reports.revisiting.common import ONEK_TASKS, SMALL_TASKS


def render(ctx: ReportContext) -> str:
    profile = ctx.profile
    layers = f" (first {counted(profile['num_layers'], 'block')})" if profile["num_layers"] else ""
    seeds = ", ".join(f"{k} {v}" for k, v in profile["seeds"].items())
    batches = profile.get("batching", "random").replace("_", "-") + " batches"
    planned, done, _ = not_run_reasons(ctx.plan, ctx.runs, ctx.failed)  # counted as the index counts them
    header = "\n".join([
        f"# {ctx.paper['title']}: reproduction report",
        "",
        f"Profile **{ctx.plan.profile}**: {profile['description']}. Model `{profile['model']}`{layers}, batch "
        f"{profile['batch_size']} ({batches}), lr {profile['lr']}, {counted(profile['epochs'], 'epoch')}, "
        f"{profile['evaluations']} evaluations, max length {profile['max_seq_len']}; seeds per cell: {seeds} "
        f"(the paper: table 20, many 50, search 8, controlled 10x10).",
        "",
        "The paper's numbers are for BERT-large on the full splits; at a reduced profile compare directions "
        "and spreads, not levels.",
        "",
        f"Built from {done} finished runs of the {planned} trials planned at this profile (skipped and waiting "
        f"experiments included, as `runs/reports/index.md` counts them)"
        + ("." if done else ": nothing has run, so every table and figure of results below says not run and why."),
    ])
    caveat = bias.scale_caveat(ctx)
    if caveat:
        header += "\n\n" + caveat
    sections = [
        coverage(ctx),
        tables.section_table1(ctx), tables.section_table2(ctx), tables.section_table2_searched(ctx),
        bias.section_table3(ctx),
        tables.section_table4(ctx), tables.section_table5(ctx), tables.section_table6(ctx),
        tables.section_table7(ctx),
        bias.section_figure1(ctx), bias.section_figure2(ctx), bias.section_figure3(ctx), bias.section_figure4(ctx),
        bias.section_expected_max(ctx),
        reinit_figures.section_depth(ctx, "reinit", SMALL_TASKS, "5"),
        reinit_figures.section_depth(ctx, "reinit_1k", ONEK_TASKS, "13"),
        reinit_figures.section_figure6(ctx), reinit_figures.section_l2(ctx),
        reinit_figures.section_iterations(ctx), reinit_figures.section_controlled(ctx),
        claims.section_claims(ctx),
    ]
    return header + "\n\n" + "\n\n".join(sections) + "\n"


def claim_verdicts(ctx: ReportContext) -> list[dict]:
    """The claims' verdicts for the suite's index (runs/reports/index.md)."""
    return claims.verdicts(ctx)
