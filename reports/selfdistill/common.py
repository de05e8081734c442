"""What every table, figure and claim of Xu et al. shares: the paper's columns and our stand-in for each, the
metric as the paper prints it (test error % for text classification, accuracy % for NLI), the last step's scores
per seed (the paper has no dev set for the text tasks: it reports the end of training), and the K labels."""
from __future__ import annotations

import numpy as np

from pipelines.resolved import stand_in
from reports.build import ReportContext
from reports.kit import chosen, pct, raw_task

# The paper's columns (reports/published/selfdistill.yaml) -> the registry task it names
PAPER_TASKS = {"IMDb": "IMDb", "AG": "AG", "DBPedia": "DBPedia", "YelpP": "Yelp-P", "YelpF": "Yelp-F",
               "SNLI": "SNLI", "MNLI": "MNLI"}
NLI = {"SNLI", "MNLI"}
TEXT = [c for c in PAPER_TASKS if c not in NLI]
COLUMN_NAMES = {"YelpP": "Yelp P.", "YelpF": "Yelp F.", "AG": "AG's News"}
ARM_NAMES = {"base": "BASE", "vote": "VOTE(4)", "avg": "AVG(4)", "se": "SE", "sdv": "SDV", "sda": "SDA",
             "sda1": "SDA(K=1)", "sda5": "SDA(K=5)", "sdv5": "SDV(K=5)", "sda_all": "SDA(K=T−1)"}
METRIC = "test_last"  # the last step's test score, as the paper reports
VAL = "val_last"


def our_task(ctx: ReportContext, column: str, experiment: str = "") -> str:
    """The task this profile trains for a paper column (in ``experiment``): the column's own task or the profile's
    offline stand-in (pipelines.resolved.stand_in)."""
    return stand_in(ctx.profile, experiment, PAPER_TASKS[column])


def column_label(ctx: ReportContext, column: str, experiment: str = "") -> str:
    ours = our_task(ctx, column, experiment)
    name = COLUMN_NAMES.get(column, column)
    return name if ours == PAPER_TASKS[column] else f"{name} (ours: {ours})"


def planned_columns(ctx: ReportContext, experiment: str, columns=None) -> list[str]:
    """The paper's columns whose task this experiment trains at this profile, in the paper's order."""
    planned = {raw_task(m.task) for m in ctx.plan.experiments.get(experiment, [])}
    return [c for c in (columns or PAPER_TASKS) if our_task(ctx, c, experiment) in planned]


def member_label(ctx: ReportContext, experiment: str, column: str) -> str:
    """The experiment's label of a column's task ("QNLI-proxy (1.5k)" when it trains on a sample)."""
    ours = our_task(ctx, column, experiment)
    return next((m.task for m in ctx.plan.experiments.get(experiment, []) if raw_task(m.task) == ours), ours)


def shown(column: str, accuracy_pct):
    """The paper's metric from accuracy %: error % for the text tasks, accuracy % for NLI."""
    values = np.asarray(accuracy_pct, dtype=float)
    return values if column in NLI else 100.0 - values


def k_label(value) -> str:
    return "T−1" if value in (None, "all") else str(value)


def arm_accuracy(ctx: ReportContext, experiment: str, column: str, arm: str, metric: str = METRIC,
                 **kept) -> tuple[dict[int, float], dict]:
    """{data seed: accuracy x100} of one arm's finished runs at its grid point of best mean validation at the last
    step (``kept`` fixes other settings, e.g. teacher_k=5), and that choice. The claims test these."""
    rows, choice = chosen(ctx, experiment, member_label(ctx, experiment, column), arm, VAL, **kept)
    return dict(zip(rows["data_seed"], pct(rows[metric]))), choice


def arm_scores(ctx: ReportContext, experiment: str, column: str, arm: str, metric: str = METRIC,
               **kept) -> tuple[dict[int, float], dict]:
    """arm_accuracy in the paper's metric (tables and figures)."""
    values, choice = arm_accuracy(ctx, experiment, column, arm, metric, **kept)
    return dict(zip(values, shown(column, list(values.values())))), choice


def relative_reduction(column: str, base: float, method: float) -> float:
    """The paper's Avg Δ term: (error_BASE − error_method) / error_BASE, in % (NLI: error = 100 − accuracy)."""
    error_base, error_method = (100 - base, 100 - method) if column in NLI else (base, method)
    return 100.0 * (error_base - error_method) / error_base
