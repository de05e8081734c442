"""Figure 2's ablation rows (the paper's per-model tables are images: its text's deltas beside ours), the rows
not run and why, SWA beside its control, and the ensembles."""
from __future__ import annotations

import numpy as np

from reports.build import ReportContext
from reports.kit import Notes, not_run
from reports.minbert_generalization import ensembles
from reports.multitask import PART_NAMES, PARTS, arm_scores, majority, missing, ms
from reports.render import markdown_table, write_table

COLUMNS = (*PARTS, "avg")
NOTE = ("Scores x 100: SST and Para accuracy %, STS Pearson r x 100; Overall = (SST + Para + (r + 1) / 2) / 3, "
        "the paper's. Mean ± sd over seeds.")


def _cells(ctx: ReportContext, path: str, split: str, notes: Notes, **options) -> list[str]:
    out = []
    for part in COLUMNS:
        values = arm_scores(ctx, path, part, split, normalised=True, **options)
        out.append(ms(values.values()) if values else notes.mark(missing(ctx, path)))
    return out


def section_ablations(ctx: ReportContext) -> str:
    notes = Notes()
    names = [PART_NAMES[c] if c != "avg" else "Overall" for c in COLUMNS]
    val_header = ["Model", *[f"{n} val" for n in names], "The paper's text"]
    test_header = ["Model", *[f"{n} test" for n in names]]
    val_rows = [[row["label"], *_cells(ctx, row["arm"], "val", notes), row["text"]] for row in ctx.published["rows"]]
    test_rows = [[row["label"], *_cells(ctx, row["arm"], "test", notes)] for row in ctx.published["rows"]]
    skipped = [[row["label"], row["why"], row["text"]] for row in ctx.published["not_run"]]
    baseline = ", ".join(f"{PART_NAMES[p]} {majority(ctx, p):.1f}" for p in ("sst", "para")) if ctx.plan.specs else ""
    lines = [NOTE, "val: validation at each run's kept epoch (the paper's dev numbers are chosen the same way); "
             "test: our held-out test splits at that epoch.", f"Majority class on our test splits: {baseline}; "
             "a constant's STS r is 0.", "The paper's deltas are in % without saying points or relative."]
    write_table(ctx.out_dir / "tables" / "ablations_val.tex", val_header, val_rows,
                "Figure 2's ablations from B3 on validation (ours; the paper's per-model numbers are an image)",
                "tab:gen-ablations-val", lines)
    write_table(ctx.out_dir / "tables" / "ablations_test.tex", test_header, test_rows,
                "Figure 2's ablations from B3 on our held-out test splits", "tab:gen-ablations-test", lines[:3])
    return "\n\n".join([
        "## Figure 2: ablations from B3", "The paper's per-model table is an image; its text gives the deltas in "
        "the last column. B3 here is the paper's B3 without AllNLI and the extra MLM pre-training (not run: below).",
        markdown_table(val_header, val_rows), "Held-out test (the claims test these):",
        markdown_table(test_header, test_rows), "\n".join(f"- {line}" for line in lines), notes.render(),
        "Not run, and why:", markdown_table(["Row", "Why not here", "The paper's text"], skipped)])


def section_swa(ctx: ReportContext) -> str:
    title = "## SWA beside its control"
    notes = Notes()
    header = ["Weights", *[PART_NAMES[c] if c != "avg" else "Overall" for c in COLUMNS]]
    rows = [["SWA: the mean of the last epochs' end weights", *_cells(ctx, "swa.swa", "test", notes,
                                                                        metric_prefix="swa_")],
            ["Control: the same run's last weights", *_cells(ctx, "swa.swa", "test_last", notes)],
            ["B3 at its kept epoch (ablations)", *_cells(ctx, "ablations.b3", "test", notes)]]
    write_table(ctx.out_dir / "tables" / "swa.tex", header, rows, "SWA and its same-length control (test)",
                "tab:gen-swa", [NOTE])
    return "\n\n".join([title, "SWA runs B3 for the profile's epochs plus its own, averaging the weights at the end "
                        "of each extra epoch (the paper: 5 epochs at lr 1e-5, one average per epoch, PyTorch's "
                        "AveragedModel). Its control is the same run's last weights, so both saw the same extra "
                        "epochs: the comparison is paired within each run. Held-out test.",
                        markdown_table(header, rows), notes.render()])


def section_ensembles(ctx: ReportContext) -> str:
    title = "## Ensembles of 4 B3 runs"
    found = ensembles.group_scores(ctx)
    if not found:
        return f"{title}\n\n{not_run(ctx, 'ensembles')}."
    kinds = [("member_mean", "mean of the 4 members"), ("best_member", "best member (on validation)"),
             ("mean", "mean-probability ensemble"), ("selective", "selective (subset per task, fitted)"),
             ("weighted", "weighted (logits, fitted)")]
    header = ["Model", *[PART_NAMES[c] if c != "avg" else "Overall" for c in COLUMNS]]
    rows = [[label, *(ms([g[kind][c] for g in found]) for c in COLUMNS)] for kind, label in kinds]
    gain = np.array([g["mean"]["avg"] - g["best_member"]["avg"] for g in found])
    write_table(ctx.out_dir / "tables" / "ensembles.tex", header, rows, "Ensembles of 4 B3 runs (test, mean ± sd "
                "over groups)", "tab:gen-ensembles", [NOTE])
    return "\n\n".join([
        title, f"{len(found)} disjoint groups of 4 B3 seeds ({', '.join(str(g['seeds']) for g in found)}), formed "
        "from the runs' saved predictions without training again. Selective and weighted ensembles are fitted on a "
        "fixed half of our validation split (the author's code: seed 11, dev 50/50). Mean ± sd over groups, "
        f"held-out test. The mean ensemble's overall gain over its best member: {gain.mean():+.2f} points "
        "(the paper: +1.3% over the best single model).", markdown_table(header, rows)])
