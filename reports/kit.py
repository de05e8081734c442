"""The report kit: what every paper's report needs from the finished runs and the plan. Which runs make a cell
(the chosen grid point), why a cell has none (skipped, failed, not runnable here, its teacher failed), short
not-run keys under a table, majority baselines, and the scale each table ran at. reports/<paper>/ holds only
that paper's tables, figures and claims."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from analysis import engine
from pipelines.availability import blocked
from pipelines.selection import choose
from reports.build import ReportContext
from reports.looks import section as looks_section, sequential_verdicts
from reports.render import counted, markdown_table, write_table
from trainers.metrics import majority_baseline
from trainers.tasks import get_task, load_splits, split_seed

METRIC_NAMES = {"accuracy": "accuracy", "f1": "F1", "spearman": "Spearman", "mcc": "Matthews corr."}
SEED = 2021  # every bootstrap and permutation draw in the reports


def pct(values) -> np.ndarray:
    return 100.0 * np.asarray(values, dtype=float)


def raw_task(label: str) -> str:
    return label.replace(" (1k)", "")


def select_keys(ctx: ReportContext, experiment: str) -> list[str]:
    return ctx.paper["experiments"][experiment].get("select") or []


def chosen(ctx: ReportContext, experiment: str, task: str, arm: str, metric: str = "best_val",
           **kept) -> tuple[pd.DataFrame, dict]:
    """The finished runs of one arm at the grid point chosen by mean validation (``metric``), and that choice."""
    frame = ctx.trials(experiment)
    sub = frame[(frame["task"] == task) & (frame["arm"] == arm)]
    if kept:
        sub = sub[sub["settings"].map(lambda s: all(dict(s).get(k, object()) == v for k, v in kept.items()))
                  .astype(bool)]  # an empty object Series would select columns, not rows
    if not sub["finished"].any():
        return sub.iloc[0:0], {}
    pick = choose(sub, select_keys(ctx, experiment), metric).iloc[0]
    rows = sub[sub["finished"] & sub["settings"].map(lambda s: s == pick["settings"]).astype(bool)]  # not ==
    return rows.sort_values(["init_seed", "data_seed"]), pick["choice"]


OUTSIDE = "not in this run's experiments (see EXPERIMENTS=)"


def outside_run(ctx: ReportContext, *experiments: str) -> bool:
    """True when every one of ``experiments`` was left out of this run (EXPERIMENTS= chose others): its sections
    say so once instead of tables of "not run"."""
    plan = ctx.plan
    return all(e not in plan.experiments and e not in plan.pending and e not in plan.skipped for e in experiments)


def outside_section(title: str, *experiments: str) -> str:
    """A section whose experiments this run left out: its title and one line."""
    names = ", ".join(f"`{e}`" for e in experiments)
    return f"{title}\n\nNot in this run: {names} {'was' if len(experiments) == 1 else 'were'} not among its experiments."


def not_run(ctx: ReportContext, experiment: str, task: str | None = None, arm: str | None = None) -> str:
    """Why an experiment (or one task column / arm of it) has no finished runs here."""
    plan = ctx.plan
    if experiment in plan.skipped:
        return f"not run at profile {plan.profile}: {plan.skipped[experiment]}"
    if experiment not in plan.experiments and experiment not in plan.pending:
        return OUTSIDE
    finished = set(ctx.runs.get("trial_id", []))
    members = [m for m in plan.experiments.get(experiment, []) if (task is None or m.task == task)
               and (arm is None or m.arm == arm)]
    if experiment in plan.pending and not members:
        # A later stage waits for choices that cannot come when its source trials cannot run here.
        stand_ins = [s for s in plan.estimates.get(experiment, []) if task is None or s.config.task == raw_task(task)]
        why = blocked(stand_ins[:1]).get(stand_ins[0].trial_id) if stand_ins else None
        return f"not run: {why}" if why else f"pending: {plan.pending[experiment]}"
    if not members:
        return f"not planned at profile {plan.profile} (task filtered out)"
    missing = [m for m in members if m.trial_id not in finished] or members
    first = plan.specs[missing[0].trial_id]
    if first.trial_id in ctx.failed:
        return f"failed on every attempt: {ctx.failed[first.trial_id]}"
    teacher = first.config.teacher
    if teacher and teacher in ctx.failed:
        name = plan.specs[teacher].name if teacher in plan.specs else teacher
        return f"not run: its teacher {name} failed on every attempt: {ctx.failed[teacher]}"
    why = blocked([first] + ([plan.specs[teacher]] if teacher in plan.specs else [])).get(first.trial_id)
    return f"not run: {why}" if why else "not run yet (rerun `make reproduce` to finish it)"


class Notes:
    """Not-run reasons as short keys in table cells, spelled out once under the table."""

    def __init__(self):
        self.keys: dict[str, str] = {}

    def mark(self, reason: str) -> str:
        return f"not run ({self.keys.setdefault(reason, chr(ord('a') + len(self.keys)))})"

    def render(self) -> str:
        return "\n".join(f"- ({key}) {reason}" for reason, key in self.keys.items())

    def only_in(self, rows: list[list[str]]) -> "Notes":
        """The keys still used by ``rows`` (after a table dropped columns), with their letters."""
        cells = {str(c) for row in rows for c in row}
        kept = Notes()
        kept.keys = {reason: key for reason, key in self.keys.items() if f"not run ({key})" in cells}
        return kept


def _test_split(ctx: ReportContext, task: str):
    name = raw_task(task)
    spec = next(s for s in ctx.plan.specs.values() if s.config.task == name)
    return load_splits(name, spec.config.train_examples, spec.config.eval_examples, spec.config.full_train,
                       split_seed(name, spec.config.data_seed), spec.config.dev_halves)["test"]


def degenerate_threshold(ctx: ReportContext, task: str) -> float:
    """A run is degenerate when its test score does not beat the majority-class baseline of our test split."""
    info = get_task(raw_task(task))
    return 100.0 * majority_baseline(info.metric, _test_split(ctx, task).labels, info.is_regression)


def resolution(ctx: ReportContext, task: str) -> float | None:
    """The step between attainable test scores (x100): 100 / n for an accuracy over n test examples, so paired tests
    compare counts of correct examples (analysis.engine.on_resolution); None for F1, MCC and correlations, whose
    float scores are kept as computed."""
    if get_task(raw_task(task)).metric != "accuracy":
        return None
    return 100.0 / len(_test_split(ctx, task).labels)


def _p_cell(v: dict) -> str:
    p, adjusted = v.get("p", float("nan")), v.get("p_adjusted", float("nan"))
    if p is None or not np.isfinite(p):
        return "–"
    return f"{p:.3g}" if v.get("exploratory") or not np.isfinite(adjusted) else f"{p:.3g} ({adjusted:.3g})"


def engine_claims_section(ctx: ReportContext, verdicts: list[dict], method: str) -> str:
    """The claims table of a report whose claims the engine decided (analysis.engine.decide, or
    reports.comparisons.holm): per claim its verdict, effect with a 95% interval, pairs (and stand-ins), raw and
    Holm-adjusted p, power at the paper's effect and a one-line reason; exploratory claims (the suite's own) are
    marked and left out of Holm's family. Rows the engine did not decide show "–" in its columns. A budgeted run's
    rows carry their sequential verdicts, and its looks follow the table (reports.looks)."""
    verdicts = sequential_verdicts(ctx, verdicts)
    rows = [[v["id"], v["statement"] + (" [exploratory]" if v.get("exploratory") else ""), v["verdict"],
             v.get("effect", "–"), v.get("pairs", "–"), _p_cell(v), v.get("power", "–"), v["reason"]]
            for v in verdicts]
    header = ["Claim", "What the paper says", "Verdict", "Effect [95% CI]", "Pairs", "p (Holm)", "Power", "Why"]
    if ctx.memo.get("looks"):
        # group-sequential Holm has no single adjusted p (reports.looks.sequential_verdicts): say what the column is
        header[5] = "p"
        method += (" In this budgeted run p is the claim's own p at the look its verdict is from, unadjusted; its "
                   "threshold at each look (its Holm share of the alpha spent so far) is in the looks section.")
    table = claims_table(ctx, header, rows, method, before=True,
                         prose=("What the paper says", "Effect [95% CI]", "Why"))
    looks = looks_section(ctx)
    return f"{table}\n\n{looks}" if looks else table


def hours_per_trial(ctx: ReportContext, experiment: str | None = None) -> float:
    """Mean hours of one finished trial of ``experiment`` (of the whole report when None: its train and evaluation
    seconds), for the seeds-needed estimate; NaN without finished runs."""
    if experiment is None:
        done = ctx.runs
    else:
        frame = ctx.trials(experiment)
        done = frame[frame["finished"]]
    if done.empty or "train_seconds" not in done:
        return float("nan")
    seconds = done["train_seconds"].astype(float)
    if "eval_seconds" in done:
        seconds = seconds + done["eval_seconds"].astype(float)
    return float(seconds.mean()) / 3600.0


def needs(decision, hours_per_pair: float) -> dict:
    """A verdict row's seeds-needed columns: ``pairs_needed`` (analysis.engine.Decision.needed: pairs a task an
    undecided claim asks for), ``needed_basis`` (what they are powered against, or why no count), ``hours_per_pair``
    (what one more pair of every comparison costs at this profile, kept for the sequential needs,
    reports.looks) and ``hours_needed`` (their product; NaN when the verdict asks for none or no finished trial gives
    a duration); ``reason`` with those hours appended."""
    hours = hours_per_pair * decision.needed if decision.needed and np.isfinite(hours_per_pair) else float("nan")
    reason = decision.reason
    if np.isfinite(hours):
        more = "over" if decision.needed > engine.MOST_PAIRS else "about"  # beyond pairs_needed's reach
        reason += f" ({more} {f'{hours:.1f}' if hours >= 0.1 else f'{hours:.2g}'} trial-hours at this profile)"
    return {"pairs_needed": decision.needed, "needed_basis": decision.needed_basis, "hours_per_pair": hours_per_pair,
            "hours_needed": hours, "reason": reason}


def tasks_with_runs(frame: pd.DataFrame, order=None) -> list[str]:
    present = list(dict.fromkeys(frame.loc[frame["finished"], "task"]))
    return [t for t in (order or present) if t in present]


def scale_line(ctx: ReportContext, experiment: str) -> str:
    """Profile, model and seeds an experiment ran with: every table states them."""
    frame = ctx.trials(experiment)
    done = frame[frame["finished"]]
    if done.empty:
        return f"Profile {ctx.plan.profile}: no finished runs of `{experiment}`."
    models = sorted({ctx.plan.specs[t].config.model for t in done["trial_id"]})
    layers = ctx.profile["num_layers"]
    per_cell = done.groupby(["task", "arm"]).size()
    seeds = f"{per_cell.min()}" if per_cell.min() == per_cell.max() else f"{per_cell.min()}-{per_cell.max()}"
    blocks = f" (first {counted(layers, 'block')})" if layers else ""
    return (f"`{experiment}` ran at profile **{ctx.plan.profile}**: model {', '.join(f'`{m}`' for m in models)}"
            f"{blocks}, {seeds} finished runs per task and arm "
            f"(all grid points together).")


def claims_table(ctx: ReportContext, header: list[str], rows: list[list[str]], method: str,
                 before: bool = False, prose=()) -> str:
    """The claim verdicts as a Markdown section (``method`` before or after the table) and as tables/claims.tex,
    so report.tex and its PDF end with the verdicts too (the method as the table's note; ``prose`` columns set
    under each row there)."""
    title = f"Claim verdicts at profile {ctx.plan.profile}"
    write_table(ctx.out_dir / "tables" / "claims.tex", header, rows, title, "tab:claims", notes=[method],
                prose=prose)
    table = markdown_table(header, rows)
    return "\n\n".join([f"## {title}", *([method, table] if before else [table, method]),
                        "LaTeX: `tables/claims.tex`"])


def coverage(ctx: ReportContext) -> str:
    """What each experiment covers and how much of it ran at this profile."""
    finished = set(ctx.runs.get("trial_id", []))
    rows = []
    for name, exp in ctx.paper["experiments"].items():
        ids = ctx.plan.ids(name)
        done = sum(1 for i in ids if i in finished)
        if name in ctx.plan.experiments and name not in ctx.plan.pending:
            status = f"{done} of {len(ids)} trials finished"
            reasons = Counter(not_run(ctx, name, m.task, m.arm) for m in ctx.plan.experiments[name]
                              if m.trial_id not in finished)
            if reasons:
                status += " (" + "; ".join(f"{n} {why}" for why, n in reasons.items()) + ")"
        elif name in ctx.plan.experiments:
            waiting = Counter(not_run(ctx, name, spec.config.task) for spec in ctx.plan.estimates[name])
            status = f"{done} of {len(ids)} planned trials finished; later: " + "; ".join(
                f"{n} {why}" for why, n in waiting.items())
        else:
            status = not_run(ctx, name)
        rows.append([name, ", ".join(exp["covers"]), exp["about"], status])
    parts = ["## Coverage: experiments, what they feed, and what ran",
             markdown_table(["Experiment", "Feeds", "About", "Status"], rows)]
    left_out = [name for name in ctx.paper["experiments"] if outside_run(ctx, name)]
    if left_out:
        ran = [name for name in ctx.paper["experiments"] if name not in left_out]
        parts.append(f"This run covers {', '.join(f'`{e}`' for e in ran)} ({len(left_out)} of the paper's "
                     f"{len(ctx.paper['experiments'])} experiments left out by EXPERIMENTS=): the tables below keep "
                     f"the rows and columns it ran, and a section fed only by the others says so in one line.")
    return "\n\n".join(parts)
