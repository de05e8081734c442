"""Tables 1 and 2 of Qin & Tran: every row's SST accuracy, paraphrase accuracy, STS Pearson r and their plain
average, ours (validation at the kept epoch, as the paper's dev numbers; and held-out test) beside the paper's."""
from __future__ import annotations

import numpy as np

from reports.build import ReportContext
from reports.kit import Notes
from reports.multitask import PART_NAMES, PARTS, arm_scores, majority, missing, ms, paper
from reports.render import markdown_table, write_table

COLUMNS = (*PARTS, "avg")


def _row(ctx: ReportContext, path: str, split: str, trained, notes: Notes) -> list[str]:
    """Our mean ± sd per column; † marks a head that did not train (a single-task row's other tasks)."""
    cells = []
    for part in COLUMNS:
        values = arm_scores(ctx, path, part, split)
        if not values:
            cells.append(notes.mark(missing(ctx, path)))
            continue
        off = trained is not None and part not in (*trained, "avg")
        cells.append(ms(values.values()) + (" †" if off else ""))
    return cells


def section_table1(ctx: ReportContext) -> str:
    published = ctx.published["table1"]
    notes = Notes()
    header = ["Model", *[f"{PART_NAMES[c]} ours" for c in COLUMNS], *[f"{PART_NAMES[c]} paper" for c in COLUMNS]]
    rows, test_rows = [], []
    for row in published["rows"] + published["extra_rows"]:
        trained = row.get("trained")
        cells = row.get("cells") or [None] * 4
        rows.append([row["label"], *_row(ctx, row["arm"], "val", trained, notes), *(paper(c) for c in cells)])
        test_rows.append([row["label"], *_row(ctx, row["arm"], "test", trained, notes)])
    baseline = [f"{PART_NAMES[p]} {majority(ctx, p):.1f}" for p in PARTS[:2]] if ctx.plan.specs else []
    note_lines = ["† the head of a task this row does not train (the paper's single-task rows too).",
                  "Scores x 100: SST and Para accuracy %, STS Pearson r x 100; Avg is their plain mean (the paper's).",
                  f"Majority class on our test splits: {', '.join(baseline)}; STS r of a constant is 0.",
                  published["notes"]]
    write_table(ctx.out_dir / "tables" / "table1.tex", header, rows, published["caption"] + " (ours: validation at "
                "the kept epoch, mean ± sd over seeds)", "tab:mt-table1", note_lines)
    write_table(ctx.out_dir / "tables" / "table1_test.tex", ["Model", *[PART_NAMES[c] for c in COLUMNS]], test_rows,
                "Table 1 rows on our held-out test splits (mean ± sd over seeds)", "tab:mt-table1-test",
                note_lines[:3])
    return "\n\n".join([
        "## Table 1: single-task and round-robin models",
        "Ours: validation scores at each run's kept epoch (the paper's dev numbers are chosen the same way: "
        "optimistic), mean ± sd over seeds; the paper's single runs beside them. The last two rows are ours: row 7 "
        "changes the STS loss and the update scheme at once, these change one each.",
        markdown_table(header, rows), "\n".join(f"- {line}" for line in note_lines), notes.render(),
        "Held-out test (the claims test these):", markdown_table(["Model", *[PART_NAMES[c] for c in COLUMNS]],
                                                                 test_rows)])


def section_table2(ctx: ReportContext) -> str:
    published = ctx.published["table2"]
    notes = Notes()
    header = ["Model", *[f"{PART_NAMES[c]} ours" for c in COLUMNS], *[f"{PART_NAMES[c]} paper" for c in COLUMNS]]
    rows = [[row["label"], *_row(ctx, row["arm"], "test", None, notes), *(paper(c) for c in row["cells"])]
            for row in published["rows"]]
    write_table(ctx.out_dir / "tables" / "table2.tex", header, rows, published["caption"] + " (ours: our test splits)",
                "tab:mt-table2", ["The paper's test is the course's hidden leaderboard; ours the held-out splits."])
    return "\n\n".join(["## Table 2: the best model on test",
                        "The paper's test labels are the course's hidden leaderboard (not offline); ours are our "
                        "held-out test splits (SST: the real SST-5 test set, the leaderboard's sentences).",
                        markdown_table(header, rows), notes.render()])


def mean(values: dict) -> float:
    return float(np.mean(list(values.values()))) if values else float("nan")
