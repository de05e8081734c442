"""Sec. 5-6 and Appendix B figures: Re-init depth (5, 13), training loss (6), L2 distance per block (7, 15-18),
validation vs iterations (8, 14) and the controlled-seed grids (9, 10)."""
from __future__ import annotations

import numpy as np

from analysis.stats import band, mean_std
from reports.build import ReportContext
from reports.render import fmt_ms, markdown_table, plt, save_figure
from reports.kit import chosen, not_run, pct, tasks_with_runs
from reports.revisiting.common import COLORS, ONEK_TASKS, SMALL_TASKS


def _depth_name(settings) -> str:
    value = dict(settings).get("reinit")
    return "Std" if value is None else ("Pooler" if value == "pooler" else str(value))


def section_depth(ctx: ReportContext, experiment: str, order, number: str) -> str:
    frame = ctx.trials(experiment)
    tasks = tasks_with_runs(frame, order)
    title = f"## Figure {number}: validation performance vs number of re-initialised blocks"
    if not tasks:
        return f"{title}\n\n{not_run(ctx, experiment)}"
    names = list(dict.fromkeys(frame["settings"].map(_depth_name)))
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.0 * len(tasks), 3.2), squeeze=False, layout="constrained")
    rows = []
    for ax, task in zip(axes[0], tasks):
        sub = frame[(frame["task"] == task) & frame["finished"]]
        data = [pct(sub.loc[sub["settings"].map(_depth_name) == n, "best_val"]) for n in names]
        ax.boxplot(data, tick_labels=names)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("Re-initialised blocks")
        _, choice = chosen(ctx, experiment, task, "reinit")
        rows.append([task, *[fmt_ms(*mean_std(d)[:2]) for d in data], str(choice.get("reinit", "—"))])
    axes[0][0].set_ylabel("Validation performance (x100)")
    name = f"figure{number.split()[0]}"
    fig.suptitle(f"Figure {number}: validation performance vs Re-init depth ({ctx.plan.profile})")
    save_figure(fig, ctx.out_dir / "figures", name)
    missing = [t for t in order if t not in tasks]
    parts = [title, f"![Figure {number}](figures/{name}.png)", markdown_table(["Task", *names, "chosen L"], rows),
             "Paper (Sec. 5): re-initialising the pooler already helps, more blocks help more, then performance "
             "plateaus or drops; the worst case improves more than the best case."]
    if missing:
        parts.append(f"Not shown: {', '.join(missing)} ({not_run(ctx, experiment, missing[0])}).")
    return "\n\n".join(parts)


def section_figure6(ctx: ReportContext) -> str:
    frame = ctx.trials("reinit")
    tasks = tasks_with_runs(frame, SMALL_TASKS)
    if not tasks:
        return f"## Figure 6: training loss, Standard vs Re-init\n\n{not_run(ctx, 'reinit')}"
    curves = ctx.curves("reinit", "train_loss")
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.0), squeeze=False, layout="constrained")
    for ax, task in zip(axes[0], tasks):
        for arm in ("standard", "reinit"):
            runs, choice = chosen(ctx, "reinit", task, arm)
            stats = band({t: curves[t] for t in runs["trial_id"] if t in curves})
            label = "Standard" if arm == "standard" else f"Re-init {choice.get('reinit')}"
            ax.plot(stats["step"], stats["mean"], color=COLORS[arm], label=label)
            ax.fill_between(stats["step"], stats["min"], stats["max"], color=COLORS[arm], alpha=0.2)
        ax.set_title(task)
        ax.set_xlabel("Steps")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("Train loss")
    fig.suptitle(f"Figure 6: training loss, mean and range across seeds ({ctx.plan.profile})")
    save_figure(fig, ctx.out_dir / "figures", "figure6")
    return "\n\n".join(["## Figure 6: training loss, Standard vs Re-init (chosen L)",
                        "![Figure 6](figures/figure6.png)",
                        "Paper (Sec. 5): Re-init converges faster and shrinks the range of the training loss."])


def section_l2(ctx: ReportContext) -> str:
    """Figure 7 (RTE) and Figures 15-18 (every task): mean L2 distance per block across seeds."""
    frame = ctx.trials("parameter_change")
    tasks = tasks_with_runs(frame, SMALL_TASKS)
    title = "## Figures 7 and 15-18: L2 distance of each Transformer block to its initial weights"
    if not tasks:
        return f"{title}\n\n{not_run(ctx, 'parameter_change')}"
    spec = ctx.plan.specs[frame["trial_id"].iloc[0]]
    n_blocks = spec.config.num_layers or 24
    keys = [f"l2_block_{i}" for i in range(1, n_blocks + 1)]
    curves = {k: ctx.curves("parameter_change", k) for k in keys}
    parts = [title, "Mean across seeds of ||theta_t - theta_0||_2 over all parameters of a block. Paper (Sec. 5): "
             "Re-init reduces the change in the top blocks; re-initialising too many blocks increases it in the "
             "bottom blocks."]
    figures = [("7", "RTE", sorted({int(round(b)) for b in np.linspace(1, n_blocks, min(4, n_blocks))}))]
    figures += [(n, t, list(range(1, n_blocks + 1))) for n, t in zip(["15", "16", "17", "18"], SMALL_TASKS)]
    for number, task, shown in figures:
        if task not in tasks:
            continue
        cols = min(4, len(shown))
        nrows = -(-len(shown) // cols)
        fig, axes = plt.subplots(nrows, cols, figsize=(3.0 * cols, 2.6 * nrows), squeeze=False, layout="constrained")
        sub = frame[(frame["task"] == task) & frame["finished"]]
        settings = list(dict.fromkeys(sub["settings"]))
        cmap = plt.get_cmap("viridis", len(settings))
        for i, block in enumerate(shown):
            key = f"l2_block_{block}"
            ax = axes[i // cols][i % cols]
            for j, setting in enumerate(settings):
                ids = sub.loc[sub["settings"] == setting, "trial_id"]
                stats = band({t: curves[key][t] for t in ids if t in curves[key]})
                name = _depth_name(setting)
                ax.plot(stats["step"], stats["mean"], color="black" if name == "Std" else cmap(j),
                        label="Standard" if name == "Std" else f"Re-init {name}")
            ax.set_title(f"Transformer Block {block}", fontsize=9)
            ax.set_xlabel("Steps")
        for k in range(len(shown), nrows * cols):
            axes[k // cols][k % cols].axis("off")
        axes[0][0].set_ylabel("L2 dist. to initialization")
        axes[0][0].legend(fontsize=7)
        fig.suptitle(f"Figure {number}: L2 distance to initialization, {task} ({ctx.plan.profile})")
        save_figure(fig, ctx.out_dir / "figures", f"figure{number}")
        parts.append(f"![Figure {number}: {task}](figures/figure{number}.png)")
    return "\n\n".join(parts)


def section_iterations(ctx: ReportContext) -> str:
    """Figures 8 and 14: mean and range of validation performance against the training iterations."""
    parts = ["## Figures 8 and 14: validation performance vs training iterations (Sec. 6 stage 1)"]
    for experiment, order, number in (("longer_search_1k", ONEK_TASKS[:4], "8"), ("longer_search_1k", ONEK_TASKS[4:],
                                                                                   "14"),
                                      ("longer_search", SMALL_TASKS, "8b")):
        frame = ctx.trials(experiment)
        tasks = tasks_with_runs(frame, order)
        if not tasks:
            parts.append(f"Figure {number}: {not_run(ctx, experiment, order[0])}")
            continue
        fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.0), squeeze=False, layout="constrained")
        for ax, task in zip(axes[0], tasks):
            sub = frame[(frame["task"] == task) & frame["finished"]].copy()
            sub["iterations"] = [int(ctx.plan.specs[t].config.max_steps or steps)  # 3 epochs: the steps it ran
                                 for t, steps in zip(sub["trial_id"], sub["steps"])]
            for arm in ("standard", "reinit"):
                cell = sub[sub["arm"] == arm].groupby("iterations")["best_val"]
                if not len(cell):
                    continue
                x = np.array(sorted(cell.groups))
                stats = cell.agg(["mean", "min", "max"]).loc[x] * 100
                depth = dict(sub.loc[sub["arm"] == arm, "settings"].iloc[0]).get("reinit")
                ax.plot(x, stats["mean"], marker="o", color=COLORS[arm],
                        label="Standard" if arm == "standard" else f"Re-init {depth}")
                ax.fill_between(x, stats["min"], stats["max"], color=COLORS[arm], alpha=0.2)
            ax.set_xscale("log")
            ax.minorticks_off()
            ax.set_xticks(sorted(sub["iterations"].unique()), [str(v) for v in sorted(sub["iterations"].unique())])
            ax.set_title(task)
            ax.set_xlabel("Training iterations")
            ax.legend(fontsize=7)
        axes[0][0].set_ylabel("Val. performance (x100)")
        fig.suptitle(f"Figure {number}: validation performance vs iterations ({ctx.plan.profile})")
        save_figure(fig, ctx.out_dir / "figures", f"figure{number}")
        parts.append(f"![Figure {number}](figures/figure{number}.png)")
        absent = [t for t in order if t not in tasks]
        if absent:
            parts.append(f"Not shown in Figure {number}: {', '.join(absent)} "
                         f"({not_run(ctx, experiment, absent[0])}).")
    parts.append("Figure 8b is the same plot for the four small datasets at full size. Paper (Sec. 6): tasks need "
                 "different numbers of iterations, and Re-init usually needs fewer.")
    return "\n\n".join(parts)


def section_controlled(ctx: ReportContext) -> str:
    """Figures 9 and 10 (Appendix B): init seed x data-order/dropout seed grids, Standard vs Re-init."""
    frame = ctx.trials("controlled_seeds")
    title = "## Figures 9 and 10: controlled random seeds on RTE (Appendix B)"
    done = frame[frame["finished"]]
    if done.empty:
        return f"{title}\n\n{not_run(ctx, 'controlled_seeds')}"
    arms = list(dict.fromkeys(done["arm"]))
    fig, axes = plt.subplots(1, len(arms), figsize=(4.6 * len(arms), 4.0), squeeze=False, layout="constrained")
    std_rows = []
    for ax, arm in zip(axes[0], arms):
        sub = done[done["arm"] == arm]
        grid = sub.pivot_table(index="init_seed", columns="data_seed", values="best_val") * 100
        ax.imshow(grid.to_numpy(), cmap="viridis")
        for (i, j), v in np.ndenumerate(grid.to_numpy()):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7, color="white")
        ax.set_xticks(range(grid.shape[1]), grid.columns)
        ax.set_yticks(range(grid.shape[0]), grid.index)
        ax.set_xlabel("Seed for data order and dropout")
        ax.set_ylabel("Seed for initialization")
        depth = dict(sub["settings"].iloc[0]).get("reinit")
        ax.set_title("Standard" if arm == "standard" else f"Re-init {depth}")
        per_init = grid.mean(axis=1)
        std_rows.append(["Standard" if arm == "standard" else f"Re-init {depth}",
                         f"{per_init.min():.1f} / {grid.to_numpy().mean():.1f} / {per_init.max():.1f}",
                         f"{grid.std(axis=1, ddof=1).mean():.2f}", f"{grid.std(axis=0, ddof=1).mean():.2f}",
                         f"{np.std(grid.to_numpy(), ddof=1):.2f}"])
    fig.suptitle(f"Figure 9: validation accuracy (x100) per seed pair on RTE ({ctx.plan.profile})")
    save_figure(fig, ctx.out_dir / "figures", "figure9")
    fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
    width = 0.35
    for k, (label, col) in enumerate((("init seed fixed", 2), ("data seed fixed", 3))):
        ax.bar(np.arange(len(std_rows)) + (k - 0.5) * width, [float(r[col]) for r in std_rows], width, label=label)
    ax.set_xticks(range(len(std_rows)), [r[0] for r in std_rows])
    ax.set_ylabel("Std of val. accuracy (x100)")
    ax.legend(fontsize=8)
    ax.set_title(f"Figure 10: spread with one seed controlled ({ctx.plan.profile})", fontsize=9)
    save_figure(fig, ctx.out_dir / "figures", "figure10")
    header = ["Setting", "min / mean / max of per-init means", "std, init fixed (Fig. 10)",
              "std, data order fixed (Fig. 10)", "std, all runs"]
    return "\n\n".join([title, "![Figure 9](figures/figure9.png)", "![Figure 10](figures/figure10.png)",
                        "Figure 10's numbers: the mean standard deviation across one seed while the other is fixed.",
                        markdown_table(header, std_rows),
                        "Paper (Appendix B): Re-init improves accuracy and reduces the spread whichever source of "
                        "randomness is fixed; fixing either seed leaves a similar spread."])
