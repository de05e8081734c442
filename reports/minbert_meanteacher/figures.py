"""Figures 3-5 of Qin & Tran, whose numbers are images (not in the text): ours alone, from the runs. Figure 3:
the average against batch size; Figure 4: STS by cross-entropy or MSE, with the update scheme taken apart;
Figure 5: the mean teacher's consistency by MSE or KL, validation average per epoch."""
from __future__ import annotations

import numpy as np

from reports.build import ReportContext
from reports.kit import not_run
from reports.multitask import PART_NAMES, PARTS, TASK, arm_scores, ms
from reports.render import counted, markdown_table, plt, save_figure

IMAGE_ONLY = "The paper's figure is an image: its numbers are not in the text, so ours stand alone."


def _missing(ctx: ReportContext, experiment: str) -> str | None:
    if experiment not in ctx.plan.experiments:
        return not_run(ctx, experiment)
    frame = ctx.trials(experiment)
    return None if frame["finished"].any() else not_run(ctx, experiment)


def section_figure3(ctx: ReportContext) -> str:
    title = "## Figure 3: batch size"
    why = _missing(ctx, "batch_size")
    if why:
        return f"{title}\n\n{why}."
    sizes = sorted({dict(s)["batch_size"] for s in ctx.trials("batch_size")["settings"]})
    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    rows = []
    for part in (*PARTS, "avg"):
        values = [arm_scores(ctx, "batch_size.brr", part, batch_size=b) for b in sizes]
        means = [np.mean(list(v.values())) if v else np.nan for v in values]
        sds = [np.std(list(v.values()), ddof=1) if len(v) > 1 else 0.0 for v in values]
        ax.errorbar(sizes, means, yerr=sds, marker="o", capsize=3, label=PART_NAMES[part])
        rows.append([PART_NAMES[part], *(ms(v.values()) for v in values)])
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(b) for b in sizes])
    ax.set_xlabel("batch size")
    ax.set_ylabel("test score x 100")
    ax.set_title("Figure 3: balanced round-robin (row 7) by batch size")
    fig.legend(fontsize=8, loc="outside right upper")  # beside the axes: inside, it covered the Para line
    save_figure(fig, ctx.out_dir / "figures", "figure3", "Figure 3: test scores against batch size (mean ± sd)")
    return "\n\n".join([title, IMAGE_ONLY + " Row 7's model; held-out test, mean ± sd over seeds.",
                        markdown_table(["Score", *[f"batch {b}" for b in sizes]], rows),
                        "![Figure 3](figures/figure3.png)"])


LOSS_ARMS = {"rr_even": "CE, one summed step (row 6)", "mse_summed": "MSE, one summed step",
             "ce_steps": "CE, a step per task batch", "brr_specialized": "MSE, a step per task batch (row 7)"}


def section_figure4(ctx: ReportContext) -> str:
    title = "## Figure 4: the STS loss (cross-entropy or MSE) and the update scheme"
    why = _missing(ctx, "round_robin")
    if why:
        return f"{title}\n\n{why}."
    fig, axes = plt.subplots(1, 3, figsize=(8.4, 3.0), layout="constrained")
    rows = []
    for ax, part in zip(axes, PARTS):
        values = [arm_scores(ctx, f"round_robin.{arm}", part) for arm in LOSS_ARMS]
        ax.bar(range(len(values)), [np.mean(list(v.values())) if v else np.nan for v in values],
               yerr=[np.std(list(v.values()), ddof=1) if len(v) > 1 else 0 for v in values], capsize=3,
               color=["#999999", "#6699cc", "#cc9966", "#336699"])
        ax.set_xticks(range(len(values)), ["CE\nsum", "MSE\nsum", "CE\nsteps", "MSE\nsteps"], fontsize=8)
        ax.set_title(PART_NAMES[part])
    axes[0].set_ylabel("test score x 100")
    fig.suptitle("Figure 4: STS loss and update scheme (balanced round-robin)")
    for arm, label in LOSS_ARMS.items():
        rows.append([label, *(ms(arm_scores(ctx, f"round_robin.{arm}", p).values()) for p in (*PARTS, "avg"))])
    save_figure(fig, ctx.out_dir / "figures", "figure4", "Figure 4: STS loss and update scheme (test, mean ± sd)")
    return "\n\n".join([title, IMAGE_ONLY + " The paper's row 7 changed the loss and the update scheme together; "
                        "the middle two arms change one each. Held-out test, mean ± sd over seeds.",
                        markdown_table(["Arm", *[PART_NAMES[p] for p in (*PARTS, "avg")]], rows),
                        "![Figure 4](figures/figure4.png)"])


def section_figure5(ctx: ReportContext) -> str:
    title = "## Figure 5: the mean teacher's consistency, MSE or KL"
    why = _missing(ctx, "divergence")
    if why:
        return f"{title}\n\n{why}."
    frame = ctx.trials("divergence")
    rows, means = [], {}
    for arm in ("mse", "kl"):
        ids = list(frame[(frame["arm"] == arm) & frame["finished"] & (frame["raw_task"] == TASK)]["trial_id"])
        curves = [c for t, c in ctx.curves("divergence", "val_metric").items() if t in ids]
        if curves:
            steps = sorted(set.intersection(*[{s for s, _ in c} for c in curves]))
            means[arm] = (np.array([[dict(c)[s] for s in steps] for c in curves]) * 100).mean(axis=0)
        rows.append([arm.upper(), *(ms(arm_scores(ctx, f"divergence.{arm}", p).values())
                                    for p in (*PARTS, "avg"))])
    table = markdown_table(["Consistency", *[PART_NAMES[p] for p in (*PARTS, "avg")]], rows)
    epochs = min((len(m) for m in means.values()), default=0)
    if epochs < 2:  # one point per arm is no curve: the table says it all
        return "\n\n".join([title, IMAGE_ONLY + f" {counted(epochs, 'epoch')} at this profile, so no curve to draw; "
                            "the table: held-out test at the kept epoch, mean ± sd.", table])
    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    for arm, mean in means.items():
        ax.plot(range(1, len(mean) + 1), mean, marker="o", label=arm.upper())
    ax.set_xticks(range(1, epochs + 1))  # whole epochs (2 at the cpu profile)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation average x 100")
    ax.set_title("Figure 5: mean teacher, MSE vs KL consistency")
    fig.legend(fontsize=8, loc="outside right upper")
    save_figure(fig, ctx.out_dir / "figures", "figure5", "Figure 5: validation average per epoch (mean over seeds)")
    return "\n\n".join([title, IMAGE_ONLY + " Curves: the validation average per epoch, mean over seeds; the table: "
                        "held-out test at the kept epoch, mean ± sd.", table, "![Figure 5](figures/figure5.png)"])
