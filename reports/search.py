"""The small report of one ASHA search: trials per rung, the choice per (task, arm), expected maximum validation
over the complete trials only, and the best-so-far curve. Written to runs/reports/<study>-search-<experiment>/."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib.ticker import MaxNLocator

from analysis.stats import expected_max
from pipelines.search import complete
from reports.render import markdown_table, plt, replace_folder, save_figure

BUDGETS = (1, 3, 5, 10)  # expected maximum of n complete trials (Dodge et al. 2019)


def _rung_table(runs: pd.DataFrame, evaluations: int, rungs: list[int]) -> str:
    rows = []
    for task, group in runs.groupby("task", sort=False):
        reached = [int((group["evaluations"] >= k).sum()) for k in [*rungs, evaluations]]
        rows.append([task, len(group), *reached, int((group["outcome"] == "early_stopped").sum()),
                     int((group["status"] == "FAILED").sum())])
    header = ["Task", "Trials", *[f"reached eval {k} (rung)" for k in rungs], f"complete ({evaluations} evals)",
              "stopped early", "failed"]
    return markdown_table(header, rows)


def _choice_table(result: dict) -> str:
    """This search's tasks; an arm whose every trial stopped early (or could not run) has no choice."""
    rows = []
    for task in result["searched_tasks"]:
        chosen_arms = result["choices"].get(task, {})
        for arm in result["arms"]:
            chosen = chosen_arms.get(arm)
            if chosen is None:
                rows.append([task, arm, "no choice: no complete trial", "—", 0])
            else:
                rows.append([task, arm, ", ".join(f"{k}={v}" for k, v in chosen["settings"].items()) or "—",
                             f"{chosen['mean_val']:.4f}", chosen["complete_seeds"]])
    return markdown_table(["Task", "Arm", "Chosen", "Mean val (complete seeds)", "Complete seeds"], rows)


def _confirm_tables(result: dict) -> list[str]:
    """The top points re-run on every arm of the confirming experiment (Kobyzev et al. Appendix D), per task:
    each arm's mean dev and their average, the chosen point first in bold."""
    parts = []
    for task, arms in result["choices"].items():
        for arm, chosen in arms.items():
            table = chosen.get("confirmed")
            if not table:
                continue
            names = list(dict.fromkeys(a for row in table for a in row["arms"]))
            rows = []
            for rank, row in enumerate(table, 1):
                point = ", ".join(f"{k}={v}" for k, v in row["point"].items())
                mark = "**" if row["point"] == chosen["settings"] else ""
                rows.append([str(rank), f"{mark}{point}{mark}",
                             *[f"{row['arms'][a]:.4f}" if a in row["arms"] else "—" for a in names],
                             f"{row['score']:.4f}" if row["score"] is not None else "— (an arm did not finish)"])
            parts += [f"**{task}**: {arm}'s top {len(table)} points by ASHA's mean validation, each re-run on every "
                      f"arm; the best average (bold) is the choice",
                      markdown_table(["ASHA rank", "Point", *names, "Average"], rows)]
    return parts


def _expected_max_table(runs: pd.DataFrame) -> str:
    rows = []
    for task, group in complete(runs).groupby("task", sort=False):
        values = group["best_val"].dropna().to_numpy()
        rows.append([task, len(values), *[f"{expected_max(values, n):.4f}" if len(values) else "—"
                                          for n in BUDGETS]])
    return markdown_table(["Task", "Complete trials", *[f"E[max] of {n}" for n in BUDGETS]], rows)


def _best_so_far(runs: pd.DataFrame, out_dir: Path) -> None:
    """Best validation among the complete trials, in the order trials ended (stopped ones count as spent)."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for task, group in runs.groupby("task", sort=False):
        done = group["outcome"].isin(["finished", "diverged"]).to_numpy()
        vals = np.where(done, group["best_val"].fillna(-np.inf).to_numpy(dtype=float), -np.inf)
        best = np.maximum.accumulate(vals)
        ax.step(np.arange(1, len(best) + 1), np.where(np.isfinite(best), best, np.nan), where="post", label=task)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials are counted, not measured
    ax.set_xlabel("Trials ended (complete or stopped)")
    ax.set_ylabel("Best complete validation")
    ax.legend(fontsize=8)
    ax.set_title("ASHA search: best so far")
    save_figure(fig, out_dir / "figures", "best_so_far")


def render(out_root: Path, name: str, runs: pd.DataFrame, result_file: Path, evaluations: int,
           rungs: list[int]) -> Path:
    """Write <out_root>/<name>/report.md and figures/best_so_far.{png,pdf}, replacing the folder whole."""
    result = yaml.safe_load(result_file.read_text(encoding="utf-8"))

    def fill(work: Path) -> None:
        _best_so_far(runs, work)
        text = "\n\n".join([
            f"# ASHA search of `{result['experiment']}` (profile {result['profile']}, search {result['search_id']})",
            f"{result['trials']} trials, {result['complete']} complete. ASHA stops a trial at a rung (an evaluation) "
            f"unless its validation is in the top 1/reduction-factor of the trials that reached that rung. Stopped "
            f"trials are tagged `early_stopped` in MLflow and left out of every statistic below: expected maximum "
            f"and bootstrap assume independent complete trials.",
            "## Trials per rung", _rung_table(runs, evaluations, rungs),
            "## Chosen settings (best mean validation over complete trials)",
            _choice_table(result),
            *_confirm_tables(result),
            f"Written to `{result_file}`; settings `{{searched: {result['experiment']}}}` in suite.yaml take them.",
            "## Expected maximum validation over the complete trials", _expected_max_table(runs),
            "## Best so far", "![best so far](figures/best_so_far.png)",
        ]) + "\n"
        (work / "report.md").write_text(text, encoding="utf-8")
    return replace_folder(out_root / name, fill) / "report.md"
