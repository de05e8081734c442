"""Each ablation's change against B3, paired by seed, per task and overall (held-out test): the paper's Figure 2
is an image, so this is ours alone, with its text's direction for each row."""
from __future__ import annotations

import textwrap

import numpy as np

from reports.build import ReportContext
from reports.kit import not_run
from reports.multitask import PART_NAMES, PARTS, arm_scores, ms
from reports.multitask_claims import pairs
from reports.render import markdown_table, plt, save_figure

COLUMNS = (*PARTS, "avg")


def section_changes(ctx: ReportContext) -> str:
    title = "## Figure: each ablation's change against B3"
    rows = [r for r in ctx.published["rows"] if r["arm"] != "ablations.b3"]
    if "ablations" not in ctx.plan.experiments:
        return f"{title}\n\n{not_run(ctx, 'ablations')}."
    base = {c: arm_scores(ctx, "ablations.b3", c, normalised=True) for c in COLUMNS}
    diffs = {}
    for row in rows:
        diffs[row["label"]] = {}
        for c in COLUMNS:
            b, w = pairs(arm_scores(ctx, row["arm"], c, normalised=True), base[c])
            diffs[row["label"]][c] = b - w
    if not any(len(d) for v in diffs.values() for d in v.values()):
        return f"{title}\n\nNo finished pairs with B3 yet."
    fig, ax = plt.subplots(figsize=(7.0, 3.6), layout="constrained")
    width = 0.8 / len(COLUMNS)
    for j, c in enumerate(COLUMNS):
        means = [diffs[r["label"]][c].mean() if len(diffs[r["label"]][c]) else np.nan for r in rows]
        sds = [diffs[r["label"]][c].std(ddof=1) if len(diffs[r["label"]][c]) > 1 else 0 for r in rows]
        ax.bar(np.arange(len(rows)) + (j - 1.5) * width, means, width, yerr=sds, capsize=2,
               label=PART_NAMES[c] if c != "avg" else "Overall")
    ax.axhline(0, color="grey", linewidth=0.8)
    # wrapped, not rotated: slanted labels ran past the figure's left edge
    ax.set_xticks(range(len(rows)), [textwrap.fill(r.get("short", r["label"]), 12) for r in rows], fontsize=7)
    ax.set_ylabel("change vs B3 (points, test)")
    ax.set_title("Ablations against B3, paired by seed (bars: mean; whiskers: ± sd over seeds)")
    ax.legend(fontsize=7, ncol=4)
    save_figure(fig, ctx.out_dir / "figures", "ablation_changes",
                "Each ablation's paired change against B3 (test): mean ± sd over seeds")
    table = [[r["label"], *(ms(diffs[r["label"]][c]) for c in COLUMNS), r["text"]] for r in rows]
    return "\n\n".join([title, "Mean ± sd over seeds of (arm − B3) on the same seed, held-out test, in points; the "
                        "paper's text beside each row.",
                        markdown_table(["Row", *[PART_NAMES[c] if c != "avg" else "Overall" for c in COLUMNS],
                                        "The paper's text"], table),
                        "![Ablation changes](figures/ablation_changes.png)"])
