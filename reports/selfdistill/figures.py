"""Figures 3-6 of Xu et al. 2020 from the runs: error against λ (3), accuracy over data orders at one init (4),
validation error per epoch (5) and SDA(1)'s CE and MSE losses over steps (6)."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from reports.build import ReportContext
from reports.kit import not_run, pct
from reports.render import plt, save_figure
from reports.selfdistill.common import ARM_NAMES, METRIC, arm_scores, column_label, k_label, our_task, shown


def _by_step(curves: list[list[tuple[int, float]]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean over runs at each step that every run logged."""
    steps = sorted(set.intersection(*[{s for s, _ in c} for c in curves])) if curves else []
    values = np.array([[dict(c)[s] for s in steps] for c in curves]) if steps else np.empty((0, 0))
    return np.asarray(steps), values.mean(axis=0) if values.size else np.array([])


def _finish(ctx: ReportContext, fig, ax, name: str, labels: tuple[str, str, str], caption: str, title: str,
            lines: list[str], intro: str) -> str:
    """Axis labels, title and legend, the PNG/PDF, and the section: title, the plotted numbers, the image."""
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(labels[2])
    ax.legend(fontsize=8)
    save_figure(fig, ctx.out_dir / "figures", name, caption)
    return "\n\n".join([title, intro, "\n".join(lines), f"![{name.replace('figure', 'Figure ')}](figures/{name}.png)"])


def _trials(ctx: ReportContext, experiment: str, column: str, arm: str, **kept) -> list[str]:
    frame = ctx.trials(experiment)
    rows = frame[(frame["raw_task"] == our_task(ctx, column)) & (frame["arm"] == arm) & frame["finished"]]
    keep = rows["settings"].map(lambda s: all(dict(s).get(k) == v for k, v in kept.items())).astype(bool)
    return list(rows[keep]["trial_id"])


def section_figure3(ctx: ReportContext, experiment: str = "lambda", column: str = "IMDb") -> str:
    title = "## Figure 3: error against the self-distillation weight λ"
    if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments:
        return f"{title}\n\n{not_run(ctx, experiment)}."
    frame = ctx.trials(experiment)
    frame = frame[frame["finished"] & (frame["raw_task"] == our_task(ctx, column))]
    if frame.empty:
        return f"{title}\n\n{not_run(ctx, experiment)}."
    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    lines = []
    for arm, group in frame.groupby("arm", sort=False):
        lam = group["settings"].map(lambda s: float(dict(s)["lambda"]))
        points = sorted(set(lam))
        err = [shown(column, pct(group.loc[lam == x, METRIC])) for x in points]
        ax.errorbar(points, [e.mean() for e in err], yerr=[e.std(ddof=1) if len(e) > 1 else 0 for e in err],
                    marker="o", capsize=3, label=_arm_label(group))
        lines.append(f"- {_arm_label(group)}: " + ", ".join(f"λ {x:g}: {e.mean():.2f}" for x, e in zip(points, err)))
    base, _ = arm_scores(ctx, "self_distill", column, "base")
    if base:
        ax.axhline(np.mean(list(base.values())), color="grey", linestyle="--", label="BASE")
        lines.append(f"- BASE: {np.mean(list(base.values())):.2f} ({len(base)} seeds)")
    ax.set_xscale("log")
    return _finish(ctx, fig, ax, "figure3", ("λ", "test error %", f"Figure 3: {column_label(ctx, column)} error vs λ"),
                   f"Test error on {column_label(ctx, column)} against λ (mean ± sd over seeds), BASE dashed.", title,
                   lines, "Mean test error % over seeds per λ:")


def _arm_label(group) -> str:
    first = dict(group["settings"].iloc[0])
    return f"{first.get('self_teacher', 'base').upper()}(K={k_label(first.get('teacher_k'))})"


def section_figure4(ctx: ReportContext, experiment: str = "stability", column: str = "SNLI") -> str:
    title = "## Figure 4: stability over data orders at one init seed"
    if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments:
        return f"{title}\n\n{not_run(ctx, experiment)}."
    arms = list(ctx.paper["experiments"][experiment]["arms"])
    data = {arm: arm_scores(ctx, experiment, column, arm)[0] for arm in arms}
    data = {arm: v for arm, v in data.items() if v}
    if not data:
        return f"{title}\n\n{not_run(ctx, experiment)}."
    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    ax.boxplot([list(v.values()) for v in data.values()], tick_labels=[ARM_NAMES.get(a, a) for a in data])
    ax.set_ylabel("test accuracy %" if column in ("SNLI", "MNLI") else "test error %")
    init = ctx.paper["experiments"][experiment].get("init_seed")
    ax.set_title(f"Figure 4: {column_label(ctx, column, experiment)}, init seed {init}, {max(len(v) for v in data.values())} "
                 f"data orders")
    save_figure(fig, ctx.out_dir / "figures", "figure4",
                f"Test score on {column_label(ctx, column, experiment)} over data-order seeds at one init seed, per arm.")
    rows = [f"- {ARM_NAMES.get(a, a)}: mean {np.mean(list(v.values())):.2f}, sd "
            f"{np.std(list(v.values()), ddof=1) if len(v) > 1 else 0:.2f} over {len(v)} data orders" for a, v in data.items()]
    return "\n\n".join([title, "\n".join(rows), "![Figure 4](figures/figure4.png)"])


FIG5_ARMS = (("base", {}), ("sdv", {"teacher_k": 5}), ("sda", {"teacher_k": 5}), ("sda", {"teacher_k": "all"}))


def section_figure5(ctx: ReportContext, experiment: str = "self_distill", column: str = "IMDb") -> str:
    title = "## Figure 5: error per epoch"
    if experiment not in ctx.plan.experiments:
        return f"{title}\n\n{not_run(ctx, experiment)}."
    curves = ctx.curves(experiment, "val_metric")
    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    lines = []
    for arm, kept in FIG5_ARMS:
        ids = [t for t in _trials(ctx, experiment, column, arm, **kept) if curves.get(t)]
        if not ids:
            continue
        steps, mean = _by_step([curves[t] for t in ids])
        cfg = ctx.plan.specs[ids[0]].config
        epochs = steps / (steps[-1] / cfg.epochs)
        err = shown(column, 100.0 * mean)
        name = ARM_NAMES[arm] + (f"(K={k_label(kept['teacher_k'])})" if kept else "")
        ax.plot(epochs, err, marker="o", label=name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs, not 1.25
        lines.append(f"- {name}: " + ", ".join(f"{e:g}: {v:.2f}" for e, v in zip(np.round(epochs, 2), err)))
    if not lines:
        plt.close(fig)
        return f"{title}\n\nno finished runs of these arms on {column_label(ctx, column)}."
    return _finish(ctx, fig, ax, "figure5", ("epoch", "validation error %",
                                             f"Figure 5: {column_label(ctx, column)} validation error per epoch"),
                   f"Validation error per epoch on {column_label(ctx, column)}, mean over seeds (the paper plots test "
                   f"error; ours keeps the test set for the final number).", title, lines,
                   "Mean validation error % over seeds at each evaluation (epoch):")


def section_figure6(ctx: ReportContext, experiment: str = "self_distill", column: str = "IMDb") -> str:
    title = "## Figure 6: SDA(1)'s cross-entropy and MSE over steps"
    if experiment not in ctx.plan.experiments:
        return f"{title}\n\n{not_run(ctx, experiment)}."
    ids = _trials(ctx, experiment, column, "sdv", teacher_k=1)  # SDV(1) is SDA(1): one teacher (tested)
    parts = {name: ctx.curves(experiment, f"train_{name}") for name in ("ce", "mse")}
    ids = [t for t in ids if all(parts[n].get(t) for n in parts)]
    if not ids:
        return f"{title}\n\nno finished SDV(K=1) runs on {column_label(ctx, column)}."
    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    summary = []
    for name, color in (("ce", "tab:blue"), ("mse", "tab:red")):
        steps, mean = _by_step([parts[name][t] for t in ids])
        window = max(1, len(steps) // 25)
        smooth = np.convolve(mean, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, color=color, label=f"{name.upper()} (moving mean of {window} steps)")
        third = max(1, len(mean) // 3)
        summary.append(f"- {name.upper()}: first third {mean[:third].mean():.4f}, last third {mean[-third:].mean():.4f}")
    ax.set_yscale("log")
    return _finish(ctx, fig, ax, "figure6", ("optimizer step", "loss",
                                             f"Figure 6: SDA(K=1) losses on {column_label(ctx, column)}"),
                   f"Cross-entropy and MSE-to-teacher of SDA(K=1) (= SDV(K=1)) on {column_label(ctx, column)}, "
                   f"mean over {len(ids)} seeds.", title, summary, f"Mean over {len(ids)} seeds:")
