"""What the two CS224N minBERT reports share: an arm's per-task scores by seed (SST accuracy, paraphrase accuracy,
STS Pearson r, and the reports' average), the majority baselines of our test splits, and cell formatting.

Runs keep the epoch of best validation (the reports' checkpoint rule); ``val_<task>`` is the validation score at
that epoch (optimistic, as the reports' dev numbers are) and ``test_<task>`` the held-out test score there."""
from __future__ import annotations

import numpy as np

from reports.build import ReportContext
from reports.kit import chosen, not_run
from reports.render import counted
from trainers.metrics import majority_baseline
from trainers.multitask.data import PART_TASKS
from trainers.tasks import get_task, load_splits

PARTS = ("sst", "para", "sts")
PART_NAMES = {"sst": "SST", "para": "Para", "sts": "STS", "avg": "Avg"}
TASK = "minBERT"


def split_arm(path: str) -> tuple[str, str]:
    experiment, arm = path.split(".")
    return experiment, arm


def missing(ctx: ReportContext, path: str) -> str:
    """Why an arm (``experiment.arm``) has no finished runs here."""
    experiment, arm = split_arm(path)
    return not_run(ctx, experiment, TASK, arm)


def average(values: dict[str, float], normalised: bool) -> float:
    """The report's average of the three scores (fractions): STS as r (plain) or (r + 1) / 2 (normalised)."""
    sts = (values["sts"] + 1) / 2 if normalised else values["sts"]
    return (values["sst"] + values["para"] + sts) / 3


def arm_scores(ctx: ReportContext, path: str, part: str, split: str = "test", normalised: bool = False,
               metric_prefix: str = "", **kept) -> dict[int, float]:
    """{data seed: score x 100} of one arm (``experiment.arm``) for a task or the average ("avg"), on ``split``
    (test / val at the kept epoch); ``metric_prefix`` reads another model's scores (``swa_``: its end-of-run
    average, ``teacher_``: the mean teacher)."""
    experiment, arm = split_arm(path)
    if experiment not in ctx.plan.experiments:
        return {}
    rows, _ = chosen(ctx, experiment, TASK, arm, "best_val", **kept)
    if rows.empty:
        return {}
    name = (lambda p: f"{metric_prefix}{split}_{p}")
    out = {}
    for _, row in rows.iterrows():
        values = {p: float(row[name(p)]) for p in PARTS}
        out[int(row["data_seed"])] = 100 * (average(values, normalised) if part == "avg" else values[part])
    return out


def majority(ctx: ReportContext, part: str) -> float:
    """Our test split's majority-class score x 100 (STS: a constant prediction's Pearson r, 0)."""
    if part in ("sts", "avg"):
        return 0.0
    spec = next(s for s in ctx.plan.specs.values() if s.config.task == TASK)
    caps = dict(spec.config.part_examples)
    test = load_splits(PART_TASKS[part], caps.get(part, spec.config.train_examples),
                       spec.config.eval_examples)["test"]
    info = get_task(PART_TASKS[part])
    return 100.0 * majority_baseline(info.metric, test.labels, info.is_regression)


def header(ctx: ReportContext, kept: str, planned: int, done: int) -> str:
    """The report's opening: the profile's scale, the data and its caveats, how many runs it is built from;
    ``kept``: the report's checkpoint rule (which validation score picks the epoch)."""
    p = ctx.profile
    blocks = f" (first {counted(p['num_layers'], 'block')})" if p.get("num_layers") else ""
    caps = ", ".join(f"{k} {v}" for k, v in (p.get("task_train_examples") or {}).items()) or "the full files"
    return "\n".join([
        f"# {ctx.paper['title']}: reproduction report", "",
        f"Profile **{ctx.plan.profile}**: {p['description']}. Model `{p['model']}`{blocks}, lr {p['lr']} (flat), "
        f"batch {p['batch_size']}, {counted(p['epochs'], 'epoch')} (one evaluation each; the kept epoch is {kept}), max length "
        f"{p['max_seq_len']}; training pools: {caps}; validation and test capped at {p['eval_examples'] or 'all'} "
        f"examples per task; seeds: {', '.join(f'{k} {v}' for k, v in p['seeds'].items())}.", "",
        "Data: SST-5 from the CS224N files with the real SST-5 test labels (PTB trees); STS from the CS224N files, "
        "dev halved into validation and test; Quora from the CS224N dev file only (the train file is not offline), "
        "split by groups of pairs that share a question. The offline encoder (a sentence-transformers fine-tune of "
        "MiniLM) was itself trained on Quora duplicates and NLI pairs: its Para and STS levels start high. The "
        "paper's numbers are single runs of BERT-base; ours are means ± sd over seeds.", "",
        f"Built from {done} finished runs of the {planned} trials planned at this profile."])


def ms(values) -> str:
    values = np.asarray(list(values), dtype=float)
    if not len(values):
        return "—"
    return f"{values.mean():.1f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.1f}"


def paper(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}"
