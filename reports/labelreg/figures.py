"""Figure 1 of Kobyzev et al. as data: the target distribution q' each arm's loss trains towards, drawn from the
objectives themselves (trainers.objectives: their `target`), for one SST-5 example of each gold class."""
from __future__ import annotations

import numpy as np
import torch

from reports.build import ReportContext
from reports.render import plt, save_figure
from reports.labelreg.tables import ROW_NAMES
from trainers.objectives import get_objective, resolve

K = 5  # SST-5: the paper's multi-class case
# An illustrative teacher for KD/Self-KD: confident, with mass on the neighbouring classes (an ordinal task).
TEACHER = np.array([0.05, 0.15, 0.6, 0.15, 0.05])


def targets(arms: dict[str, dict], gold: int = 2) -> dict[str, np.ndarray]:
    """{arm: q'} for one example of class ``gold``: each arm's objective and settings as suite.yaml sets them."""
    labels = torch.tensor([gold])
    teacher = torch.tensor(TEACHER[None, :], dtype=torch.float32)
    out = {}
    for arm, settings in arms.items():
        name = settings.get("objective", "ce")
        objective = get_objective(name)
        if name == "ce":
            out[arm] = np.eye(K)[gold]
            continue
        args = {k: v for k, v in settings.items() if k in objective.settings}
        q = objective.target(labels, K, resolve(name, args), teacher if objective.needs_teacher else None)
        out[arm] = q[0].double().numpy()
    return out


def figure_arms(paper: dict) -> dict[str, dict]:
    """Every student arm of the paper once, with its settings where it is first declared (SST-5 first, the
    figure's task; Self-KD from GLUE, where the paper runs it), teachers and random-init experiments left out."""
    experiments = paper["experiments"]
    order = ["sst5", *(name for name in experiments if name != "sst5")]
    arms: dict[str, dict] = {}
    for name in order:
        exp = experiments.get(name) or {}
        settings = exp.get("settings") or {}
        if "search" in exp or settings.get("random_init"):
            continue
        for arm, own in exp.get("arms", {}).items():
            if arm != "teacher":
                arms.setdefault(arm, {**settings, **own})
    return arms


def section_figure1(ctx: ReportContext) -> str:
    q = targets(figure_arms(ctx.paper))
    fig, axes = plt.subplots(1, len(q), figsize=(2.0 * len(q), 2.4), sharey=True, layout="constrained")
    for ax, (arm, dist) in zip(np.atleast_1d(axes), q.items()):
        ax.bar(range(K), dist, color=["tab:orange" if k == 2 else "tab:blue" for k in range(K)])
        ax.set_title(ROW_NAMES.get(arm, arm), fontsize=9)
        ax.set_xticks(range(K))
        ax.set_xlabel("class")
        ax.set_ylim(0, 1)
    np.atleast_1d(axes)[0].set_ylabel("target probability q'")
    fig.suptitle("Figure 1: what each arm trains on (SST-5, gold class 2)")
    save_figure(fig, ctx.out_dir / "figures", "figure1",
                "Each arm's target distribution q' for an SST-5 example of gold class 2, from the objectives' own "
                "target functions with this paper's settings; KD's teacher (Self-KD's fine-tuned copy of the student) "
                f"here is an illustrative distribution ({', '.join(f'{p:.2f}' for p in TEACHER)}).")
    lines = [f"- {ROW_NAMES.get(a, a)}: " + ", ".join(f"{p:.3f}" for p in d) for a, d in q.items()]
    return "\n\n".join(["## Figure 1: every arm is cross-entropy on a smoothed target",
                        "Computed from the objectives (trainers/objectives): gold class 2 of K = 5; KD's teacher (and "
                        f"Self-KD's fine-tuned copy of the student) is illustrative ({', '.join(f'{p:.2f}' for p in TEACHER)}).", "\n".join(lines),
                        "![Figure 1](figures/figure1.png)"])
