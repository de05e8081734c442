"""Report of the toy paper (papers.toy in the tests' scratch suite.yaml: TOY in tests/test_teachers.py), the
smallest report a paper can have and the template a new paper copies (docs/adding-a-paper.md): a coverage table,
Table 1 (the students' RTE test accuracy beside the published numbers, reports/published/toy.yaml) and the claims,
decided by the claims engine through reports.comparisons (an exact sign-flip test of the pairs by seed on the test
split's counts of correct examples, the power rule at the paper's gain, Holm across the confirmatory claims)."""
from __future__ import annotations

import numpy as np

from reports.build import ReportContext
from reports.comparisons import Comparisons, holm
from reports.index import not_run_reasons
from reports.kit import (Notes, chosen, coverage, engine_claims_section, hours_per_trial, not_run, pct, resolution,
                         scale_line)
from reports.render import fmt_ms, markdown_table, write_table

METHOD = ("Per claim an exact one-sided sign-flip test of the paired differences (by seed) on the test split's counts "
          "of correct examples; p in brackets: Holm-adjusted over the confirmatory claims. A gain that is not "
          "significant reads \"not reproduced\" only when it goes the other way significantly or the seeds had 80% "
          "power for the paper's gain; otherwise \"could not tell\".")


def render(ctx: ReportContext) -> str:
    planned, done, _ = not_run_reasons(ctx.plan, ctx.runs, ctx.failed)
    header = "\n".join([f"# {ctx.paper['title']}: reproduction report", "",
                        f"Profile **{ctx.plan.profile}**: {ctx.profile['description']}.", "",
                        f"Built from {done} finished runs of the {planned} trials planned at this profile."])
    sections = [coverage(ctx), section_table1(ctx), engine_claims_section(ctx, claim_verdicts(ctx), METHOD)]
    return header + "\n\n" + "\n\n".join(sections) + "\n"


def claim_verdicts(ctx: ReportContext) -> list[dict]:
    table = ctx.published["table1"]
    paper = {row["arm"]: row["paper"] for row in table["rows"]}
    out = []
    for claim in ctx.published["claims"]:
        better, worse = claim["check"]["better"], claim["check"]["worse"]
        b, w = pairs(scores(ctx, better), scores(ctx, worse))
        found = Comparisons(ctx, claim["shape"])
        found.add(table["task"], b, w, table["task"], expected=paper[better] - paper[worse],
                  resolution=resolution(ctx, table["task"]) if len(b) else None)
        out.append({"id": claim["id"], "statement": f"{claim['statement']} ({claim['section']})", **found.verdict()})
    return holm(out, ctx.published["claims"], hours_per_trial(ctx))


def scores(ctx: ReportContext, arm: str) -> dict[int, float]:
    """{seed: test accuracy x 100 at the best validation step} of one arm of Table 1's experiment."""
    table = ctx.published["table1"]
    rows, _ = chosen(ctx, table["experiment"], table["task"], arm)
    return dict(zip(rows["init_seed"], pct(rows["test_at_best_val"])))


def pairs(better: dict, worse: dict) -> tuple[np.ndarray, np.ndarray]:
    shared = sorted(set(better) & set(worse))
    return np.array([better[s] for s in shared]), np.array([worse[s] for s in shared])


def section_table1(ctx: ReportContext) -> str:
    """The published rows whose arm the paper's config declares: the paper's number and ours (mean ± sd over the
    finished seeds, and how many), or why ours did not run."""
    table, notes, rows = ctx.published["table1"], Notes(), []
    declared = ctx.paper["experiments"][table["experiment"]]["arms"]
    for row in (r for r in table["rows"] if r["arm"] in declared):
        ours = list(scores(ctx, row["arm"]).values())
        cell = (f"{fmt_ms(np.mean(ours), np.std(ours, ddof=1) if len(ours) > 1 else 0.0)} ({len(ours)})" if ours
                else notes.mark(not_run(ctx, table["experiment"], table["task"], row["arm"])))
        rows.append([row["label"], f"{row['paper']:.1f}", cell])
    header = ["Arm", "Paper", "Ours (mean ± sd, runs)"]
    write_table(ctx.out_dir / "tables" / "table1.tex", header, rows, table["caption"], "tab:table1",
                [notes.render()] if notes.keys else [])
    parts = [f"## {table['caption']}", scale_line(ctx, table["experiment"]), markdown_table(header, rows)]
    return "\n\n".join(parts + ([notes.render()] if notes.keys else []) + ["LaTeX: `tables/table1.tex`"])
