"""Tables of Kobyzev et al.: students beside their teacher (Tables 1-5, 7), the CIFAR table (6, not run here), the
Wilcoxon table (8), random-init SST-5 (9) and the hyperparameters (10-13) rendered from suite.yaml."""
from __future__ import annotations

import re

import numpy as np

from analysis.claims import smallest_p, wilcoxon_paired
from reports.build import ReportContext
from reports.kit import Notes, chosen, degenerate_threshold, not_run, pct
from reports.render import counted, fmt_ms, markdown_table, model_text, write_table

TASK_NOTES = {"FewRel": "Ours: the 16 relations of FewRel's val_wiki.json (the paper's 64 of train_wiki are not "
                        "offline), split 500/100/100 per relation anew for every seed (Appendix B.1).",
              "SST-5": "Ours: SST-5 from the PTB trees (train 8,544, dev 1,101, test 2,210 sentences; a profile's "
                       "eval_examples caps validation and test)."}
ROW_NAMES = {"finetune": "Finetune", "base": "Base", "ls": "LS", "tfreg": "TF-reg", "selfkd": "Self-KD", "kd": "KD"}
METRIC = {"dev": "best_val", "test": "test_at_best_val"}
UNREADABLE = ("A ? in the paper's numbers: a digit unreadable in its PDF (0.?5) or read but garbled or implausible "
              "(0.08?); reports/published/labelreg.yaml lists each such cell with the characters read.")
CIFAR = ("ResNet18 on CIFAR-100 images (Appendix C): the suite trains text classifiers, and neither CIFAR-100 nor "
         "torchvision's ImageNet weights are in the offline assets")


def scores(ctx: ReportContext, experiment: str, task: str, arm: str, split: str) -> tuple[np.ndarray, list[int]]:
    """An arm's finished runs on one task (x100) and their seeds, in seed order."""
    rows, _ = chosen(ctx, experiment, task, arm)
    return pct(rows[METRIC[split]]), list(rows["init_seed"])


def published_cell(cell) -> str:
    if cell is None:
        return "—"
    if isinstance(cell, list):
        mean, sd = cell
        return f"{mean:.2f} ± {sd}" if isinstance(sd, str) else f"{mean:.2f} ± {sd:.2f}"
    return f"{cell:.2f}"


def run_caption(ctx: ReportContext, caption: str, experiment: str, split: str | None = None) -> str:
    """The paper's caption with our seed count beside the paper's ("5 seeds" -> "the paper's 5 seeds, 3 here") and,
    for one split of a dev-and-test table, that split in place of "dev and test" (no "(...) (dev)")."""
    ours = len({ctx.plan.specs[i].config.init_seed for i in ctx.plan.ids(experiment)})
    if ours:
        caption = re.sub(r"\b(\d+) seeds\b", lambda m: f"the paper's {m.group(1)} seeds, {ours} here"
                         if int(m.group(1)) != ours else m.group(0), caption)
    if split is None:
        return caption
    return caption.replace("dev and test", split) if "dev and test" in caption else f"{caption} ({split})"


def paper_notes(rows: list[list[str]]) -> list[str]:
    """The note a table needs for the paper's cells it shows: what a ? digit means."""
    return [UNREADABLE] if any("?" in str(cell) for row in rows for cell in row) else []


def _tasks(ctx: ReportContext, experiment: str, columns: list[str]) -> list[str]:
    planned = {m.task for m in ctx.plan.experiments.get(experiment, [])}
    return [c for c in columns if c in planned]


def _cell(ctx, notes: Notes, experiment: str, task: str, arm: str, split: str) -> tuple[str, dict]:
    values, seeds = scores(ctx, experiment, task, arm, split)
    if not len(values):
        return notes.mark(not_run(ctx, experiment, task, arm)), {}
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return fmt_ms(float(np.mean(values)), sd), dict(zip(seeds, values))


def student_table(ctx: ReportContext, key: str, experiment: str, teachers: str | None, title: str | None = None,
                  file_key: str | None = None) -> str:
    """Rows Teacher, then each arm; columns the paper's tasks, Score = the mean over the tasks that ran for every
    row (per seed, then mean ± sd over seeds); dev and test. Ours, then the paper's row below it."""
    title_given = title
    published = ctx.published[key]
    title = run_caption(ctx, title or published["caption"], experiment)
    file_key = file_key or key
    if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments:
        return f"## {title}\n\n{not_run(ctx, experiment)}."
    columns = [c for c in published["columns"] if c != "Score"]
    tasks = _tasks(ctx, experiment, columns)
    arms = list(ctx.paper["experiments"][experiment]["arms"])
    parts, notes = [f"## {title}", _scale(ctx, experiment, teachers)], Notes()
    for split in ("dev", "test"):
        header = ["", *tasks, f"Score ({len(tasks)} of {len(columns)} tasks)"]
        rows = []
        per_seed: dict[str, dict[str, dict]] = {}
        if teachers:
            cells = []
            for task in tasks:
                text, by_seed = _cell(ctx, notes, teachers, task, "teacher", split)
                cells.append(text)
                per_seed.setdefault("Teacher", {})[task] = by_seed
            rows.append(["Teacher (ours)", *cells, _score(per_seed.get("Teacher", {}), tasks)])
            rows.append(["Teacher (paper)", *_paper_row(published, split, "Teacher", columns, tasks)])
        for arm in arms:
            name = ROW_NAMES.get(arm, arm)
            cells = []
            for task in tasks:
                text, by_seed = _cell(ctx, notes, experiment, task, arm, split)
                cells.append(text)
                per_seed.setdefault(name, {})[task] = by_seed
            rows.append([f"{name} (ours)", *cells, _score(per_seed[name], tasks)])
            rows.append([f"{name} (paper)", *_paper_row(published, split, name, columns, tasks)])
        note = (f"{split}: mean ± sd over seeds (x100; CoLA MCC, MRPC F1, else accuracy) at the best dev checkpoint. "
                f"Score: each seed's mean over these tasks, then mean ± sd. The paper's row under ours; its Score "
                f"is over all 7 tasks.")
        ran = [t for t in tasks if any(by_seed for by_seed in (v.get(t) for v in per_seed.values()))]
        if split == "test" and ran:
            note += " The majority class on our test split: " + ", ".join(
                f"{t} {degenerate_threshold(ctx, t):.1f}" for t in ran) + "."
        note = " ".join([note, *paper_notes(rows)])
        caption = run_caption(ctx, title_given or published["caption"], experiment, split)
        write_table(ctx.out_dir / "tables" / f"{file_key}_{split}.tex", header, rows, caption,
                    f"tab:{file_key}-{split}", [note] + ([notes.render()] if notes.keys else []))
        parts += [f"**{split}**", markdown_table(header, rows), note]
    if notes.keys:
        parts.append(notes.render())
    parts.append(f"LaTeX: `tables/{file_key}_dev.tex`, `tables/{file_key}_test.tex`")
    return "\n\n".join(parts)


def split_table(ctx: ReportContext, key: str, experiment: str, teachers: str, task: str) -> str:
    """One task's table (SST-5: Table 4; FewRel: Table 5): rows Teacher and each arm, dev and test, ours beside
    the paper's."""
    published = ctx.published[key]
    title = run_caption(ctx, published["caption"], experiment)
    if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments:
        return f"## {title}\n\n{not_run(ctx, experiment)}."
    notes, rows = Notes(), []
    arms = [("Teacher", teachers, "teacher")] + [(ROW_NAMES.get(a, a), experiment, a)
                                                 for a in ctx.paper["experiments"][experiment]["arms"]]
    ran = False
    for name, source, arm in arms:
        cells = [_cell(ctx, notes, source, task, arm, split) for split in ("dev", "test")]
        ours, ran = [text for text, _ in cells], ran or bool(cells[1][1])
        paper = published["cells"].get(name, {})
        rows.append([name, *ours, published_cell(paper.get("dev")), published_cell(paper.get("test"))])
    header = ["", "dev (ours)", "test (ours)", "dev (paper)", "test (paper)"]
    baseline = degenerate_threshold(ctx, task) if ran else None  # read only where a run finished
    note = ("Accuracy x100, mean ± sd over seeds, at the best dev checkpoint" +
            (f"; the majority class scores {baseline:.1f} on our test split. " if baseline is not None else ". ")
            + TASK_NOTES.get(task, "")).strip()
    note = " ".join([note, *paper_notes(rows)])
    write_table(ctx.out_dir / "tables" / f"{key}.tex", header, rows, title, f"tab:{key}",
                [note] + ([notes.render()] if notes.keys else []))
    return "\n\n".join([f"## {title}", _scale(ctx, experiment, teachers), markdown_table(header, rows), note]
                        + ([notes.render()] if notes.keys else []) + [f"LaTeX: `tables/{key}.tex`"])


def _paper_row(published: dict, split: str, name: str, columns: list[str], tasks: list[str]) -> list[str]:
    cells = published["cells"].get(split, {}).get(name)
    if cells is None:
        return ["—"] * (len(tasks) + 1)
    by_column = dict(zip(columns + ["Score"], cells))
    return [published_cell(by_column.get(t)) for t in tasks] + [published_cell(by_column.get("Score"))]


def _score(by_task: dict[str, dict], tasks: list[str]) -> str:
    """Per seed, the mean over the tasks; only seeds that finished every task count."""
    seeds = set.intersection(*(set(v) for v in by_task.values())) if by_task and all(by_task.values()) else set()
    if not seeds or len(by_task) < len(tasks):
        return "—"
    values = [np.mean([by_task[t][s] for t in tasks]) for s in sorted(seeds)]
    return fmt_ms(float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0)


def _scale(ctx: ReportContext, experiment: str, teachers: str | None) -> str:
    """Which models and how many seeds: every table says so."""
    specs = [ctx.plan.specs[i] for i in ctx.plan.ids(experiment)]
    student = {(s.config.model, s.config.num_layers, s.config.random_init) for s in specs}
    seeds = sorted({s.config.init_seed for s in specs})
    text = ", ".join(model_text(m, k, r) for m, k, r in sorted(student, key=str))
    line = f"Profile **{ctx.plan.profile}**: students {text}; seeds {', '.join(map(str, seeds))}"
    if teachers:
        t_specs = [ctx.plan.specs[i] for i in ctx.plan.ids(teachers)]
        t_models = {(s.config.model, s.config.num_layers) for s in t_specs}
        line += "; teacher " + ", ".join(model_text(m, k) for m, k in t_models) + \
            f" (`{teachers}`: one per task" + (", per seed" if len({s.config.init_seed for s in t_specs}) > 1
                                               else "") + ")"
    return line + "."


SEARCHED = ("batch_size", "lr_scale", "alpha", "temperature")


def section_search(ctx: ReportContext, search: str = "search_kd", rerun: str = "glue_searched") -> str:
    """Appendix D: the KD search's choice per task, as the rerun of Table 1 was planned from it (the paper's
    choice is Table 10's row)."""
    head = "## Appendix D: the ASHA search of KD and its choice"
    if search not in ctx.paper["experiments"]:
        return ""
    exp = ctx.paper["experiments"][search]
    top = exp["search"].get("top", 1)
    how = (f"`make search PAPER={ctx.plan.paper} EXPERIMENT={search} PROFILE={ctx.plan.profile}` samples "
           f"{exp['search'].get('samples', 'every')} points of batch × lr × α × T per task (one seed) and ASHA "
           f"stops the weak ones; " + (f"its {top} best points (mean dev of complete trials) then train every arm of "
                                       f"`{rerun}` and the best average over the arms is the choice, as the paper "
                                       f"chose" if top > 1 else "the best mean dev of the complete trials is the "
                                                                "choice") + f"; every arm of `{rerun}` shares it.")
    chosen_rows = {}
    for m in ctx.plan.experiments.get(rerun, []):
        if m.arm == "kd":
            chosen_rows[m.task] = [_opt(m.settings.get(k)) for k in SEARCHED]
    if not chosen_rows:
        return "\n\n".join([head, how, f"Not searched at this profile yet: {not_run(ctx, rerun)}."])
    header = ["Task", "batch", "lr (x the profile's)", "α", "T"]
    rows = [[task, *values] for task, values in chosen_rows.items()] + [["the paper (Table 10)", "32", "1 (2e-05)",
                                                                         "0.5", "1"]]
    write_table(ctx.out_dir / "tables" / "search.tex", header, rows, "Appendix D: the search's choice",
                "tab:search", [how])
    return "\n\n".join([head, how, markdown_table(header, rows), "LaTeX: `tables/search.tex`"])


def section_table6(ctx: ReportContext) -> str:
    published = ctx.published["table6"]
    rows = [[name, "not run", "not run", published_cell(cells.get("scratch")), published_cell(cells.get("pretrained"))]
            for name, cells in published["cells"].items()]
    header = ["", "scratch (ours)", "pre-trained (ours)", "scratch (paper)", "pre-trained (paper)"]
    return "\n\n".join([f"## {published['caption']}", f"Not run: {CIFAR}.", markdown_table(header, rows)])


def wilcoxon_cells(ctx: ReportContext, experiment: str, base: str, other: str) -> tuple[str, object]:
    """Two-sided exact Wilcoxon signed-rank over SST-5 test accuracy, paired by seed (Table 8)."""
    a, seeds_a = scores(ctx, experiment, "SST-5", base, "test")
    b, seeds_b = scores(ctx, experiment, "SST-5", other, "test")
    shared = sorted(set(seeds_a) & set(seeds_b))
    if len(shared) < 2:
        return not_run(ctx, experiment, "SST-5"), None
    x = np.array([a[seeds_a.index(s)] for s in shared])
    y = np.array([b[seeds_b.index(s)] for s in shared])
    test = wilcoxon_paired(y, x)
    if not test.n:
        return f"no test: all {len(shared)} pairs tied", None
    return (f"p {test.pvalue:.3g} (W {test.statistic:g}, n {test.n}" + (f", {test.zeros} ties dropped" if test.zeros
            else "") + f"; {other} − {base} {test.mean_diff:+.2f})"), test


def section_table8(ctx: ReportContext) -> str:
    published = ctx.published["table8"]
    header = ["", "pre-trained (ours)", "scratch (ours)", "pre-trained (paper)", "scratch (paper)"]
    rows, ns = [], []
    for label, other, key in (("Base vs TF-reg", "tfreg", "Base_vs_TF-reg"), ("Base vs KD", "kd", "Base_vs_KD")):
        pre, t1 = wilcoxon_cells(ctx, "sst5", "finetune", other)
        scratch, t2 = wilcoxon_cells(ctx, "sst5_random", "base", other)
        ns += [t.n for t in (t1, t2) if t is not None]
        paper = published["cells"][key]
        rows.append([label, pre, scratch, f"{paper['pretrained']:.2f}", f"{paper['scratch']:.2f}"])
    floor = f" With n = {min(ns)} pairs no two-sided p can fall below {smallest_p(min(ns)):.3g}." if ns else ""
    note = ("Exact two-sided Wilcoxon signed-rank test (scipy, method='exact'), SST-5 test accuracy paired by seed; "
            "ties (zero differences) are dropped before ranking and counted." + floor)
    title = run_caption(ctx, published["caption"], "sst5")
    write_table(ctx.out_dir / "tables" / "table8.tex", header, rows, title, "tab:table8", [note])
    return "\n\n".join([f"## {title}", markdown_table(header, rows), note,
                        "LaTeX: `tables/table8.tex`"])


def section_table9(ctx: ReportContext) -> str:
    published = ctx.published["table9"]
    title = run_caption(ctx, published["caption"], "sst5_random")
    notes, rows = Notes(), []
    for arm in ("base", "tfreg", "kd"):
        name = ROW_NAMES[arm]
        text, _ = _cell(ctx, notes, "sst5_random", "SST-5", arm, "test")
        paper = published["cells"][name]
        rows.append([name, text, published_cell(paper)])
    header = ["", "test acc. (ours)", "test acc. (paper)"]
    below = paper_notes(rows) + ([notes.render()] if notes.keys else [])
    write_table(ctx.out_dir / "tables" / "table9.tex", header, rows, title, "tab:table9", below)
    return "\n\n".join([f"## {title}", markdown_table(header, rows), *below, "LaTeX: `tables/table9.tex`"])


def section_hyperparameters(ctx: ReportContext) -> str:
    """Tables 10-13 as suite.yaml sets them: per experiment and arm, the objective's settings and the protocol
    at this profile (the paper's defaults unless the profile scales them)."""
    header = ["Experiment", "Arm", "Objective", "α", "T", "a", "lr", "batch", "epochs", "model"]
    rows = []
    skipped = {name: why for name, why in ctx.plan.skipped.items() if "search" not in ctx.paper["experiments"][name]}
    for name, exp in ctx.paper["experiments"].items():
        if name in skipped:  # said once in the note, not as rows of a protocol that did not run (a search runs
            continue         # apart from reproduce: its space stays listed)
        for arm, settings in exp["arms"].items():
            merged = {**(exp.get("settings") or {}), **settings}
            planned = [ctx.plan.specs[m.trial_id] for m in ctx.plan.experiments.get(name, []) if m.arm == arm]
            specs = planned or [s for s in ctx.plan.estimates.get(name, [])
                                if s.name.split()[2:3] == [arm] or f" {arm}" in s.name]
            rows.append([name, arm, merged.get("objective", "ce"), _opt(merged.get("alpha")),
                         _opt(merged.get("temperature")), _opt(merged.get("correct_prob")),
                         *(_protocol(merged, planned, specs, key) for key in ("lr", "batch_size", "epochs")),
                         ", ".join(sorted({f"{s.config.model}" + (f" ({counted(s.config.num_layers, 'block')})"
                                                                  if s.config.num_layers else "")
                                           for s in specs})) or "—"])
    note = (f"At profile {ctx.plan.profile}. A search space is shown as its range (number of values); 'searched': "
            f"the search's choice, once made. The paper's Tables 10-12: lr 2e-5 (FewRel 1.5e-5; DistilGPT-2 1e-5 or "
            f"2e-5 by task, batch 16), batch 32, 30 epochs, T 1, α: LS 0.1, TF-reg/Self-KD/KD 0.5 (0.9 from scratch "
            f"on SST-5), a 0.95. Table 13 (CIFAR-100) is not run here.")
    by_reason: dict[str, list[str]] = {}
    for name, why in skipped.items():
        by_reason.setdefault(why, []).append(name)
    if by_reason:
        note += " Not run at this profile, so not listed: " + "; ".join(
            f"{', '.join(names)} ({why})" for why, names in by_reason.items()) + "."
    write_table(ctx.out_dir / "tables" / "hyperparameters.tex", header, rows,
                "Tables 10-13: hyperparameters as run", "tab:hyperparameters", [note])
    return "\n\n".join(["## Tables 10-13: hyperparameters (rendered from suite.yaml)", markdown_table(header, rows),
                        note, "LaTeX: `tables/hyperparameters.tex`"])


def _protocol(merged: dict, planned: list, specs: list, key: str) -> str:
    """One protocol column: a grid or another stage's choice as declared until that stage is planned, else the
    values its trials train with (a per-task recipe can give several)."""
    scale = merged.get("lr_scale") if key == "lr" else None  # the lr a search or stage scales
    if not planned and isinstance(merged.get(key, scale), (dict, list)):
        return _opt(merged.get(key, scale)) + (" x lr" if key not in merged else "")
    values = sorted({round(getattr(s.config, key), 12) for s in specs})
    return _opt(values) if len(values) > 1 else f"{values[0]:g}" if values else "—"


def _opt(value) -> str:
    if isinstance(value, dict):  # another stage's choice
        return "searched" if "searched" in value else "selected"
    if isinstance(value, list):  # a search space: its range (the table must fit a page)
        return ", ".join(f"{v:g}" for v in value) if len(value) <= 2 else \
            f"{min(value):g}..{max(value):g} ({len(value)})"
    return "—" if value is None else f"{value:g}"
