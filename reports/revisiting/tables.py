"""Tables 1, 2, 4, 5, 6 and 7: ours beside the published numbers, significance by the paper's rule."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from analysis.claims import mean_higher, two_tailed
from analysis.stats import best_and_equivalent, mean_std
from pipelines.resolved import resolve_profile
from reports.build import ReportContext
from reports.render import counted, fmt_ms, markdown_table, write_table
from reports.kit import Notes, chosen, not_run, outside_run, outside_section, pct, scale_line
from reports.revisiting.common import ONEK_TASKS, PAPER_NAMES, SMALL_TASKS, setting_text


def _write(ctx: ReportContext, name: str, header, rows, caption: str, notes: Notes | None = None, *texts) -> str:
    """tables/NAME.tex with its own notes (the not-run keys, then ``texts``: what bold means, ...)."""
    write_table(ctx.out_dir / "tables" / f"{name}.tex", header, rows,
                f"{caption} (ours at profile {ctx.plan.profile})", f"tab:{name}", tex_notes(notes, *texts))
    return f"LaTeX: `tables/{name}.tex`"


def tex_notes(notes: Notes | None, *texts: str) -> list[str]:
    """A LaTeX table's notes: each not-run key spelled out, then the other notes."""
    return [*(f"({key}) {reason}" for reason, key in (notes.keys.items() if notes else ())), *texts]


def _cell(values: np.ndarray, bold: bool, reason: str, notes: Notes) -> str:
    mean, std, n = mean_std(values)
    if n == 0:
        return notes.mark(reason)
    text = fmt_ms(mean, std)
    return f"**{text}**" if bold else text


class Cell(NamedTuple):
    """One table cell's runs: test scores x100, the chosen setting, why it has none, and each score's seeds
    ((init seed, data seed), in the same order: what pairs two arms' runs in the claims)."""
    scores: np.ndarray
    choice: dict
    reason: str
    seeds: list


def _seeds(rows) -> list[tuple[int, int]]:
    return [(int(i), int(d)) for i, d in zip(rows["init_seed"], rows["data_seed"])]


def table1_groups(ctx: ReportContext, task: str) -> dict:
    """{(method, column): Cell(test scores x100, choice, reason, seeds)} for one Table 1 column, e.g. "RTE (1k)"."""
    onek = task.endswith("(1k)")
    short, longer = ("reinit_1k", "longer_1k") if onek else ("reinit", "longer")
    out = {}
    for column, exp in (("3ep", short), ("longer", longer)):
        for method in ("standard", "reinit"):
            rows, choice = chosen(ctx, exp, task, method)
            if column == "3ep" and method == "reinit" and choice:
                choice = {"reinit": choice.get("reinit")}
            elif column == "longer" and len(rows):
                choice = dict(rows["settings"].iloc[0])
                choice = {k: v for k, v in choice.items() if k in ("reinit", "max_steps")}
            out[(method, column)] = Cell(pct(rows["test_at_best_val"]), choice, not_run(ctx, exp, task, method),
                                         _seeds(rows))
    return out


def section_table1(ctx: ReportContext) -> str:
    title = "## Table 1: Standard vs Re-init, 3 epochs and Longer (mean test performance ± std)"
    experiments = ("reinit", "longer", "reinit_1k", "longer_1k")
    if outside_run(ctx, *experiments):
        return outside_section(title, *experiments)
    cells = ctx.published["table1"]["cells"]
    header = ["Task", "Method", "3 epochs (ours)", "3 epochs (paper)", "Longer (ours)", "Longer (paper)",
              "setting (3 ep / Longer)", "seeds"]
    rows, notes = [], Notes()
    tasks = SMALL_TASKS + ([] if outside_run(ctx, "reinit_1k", "longer_1k") else ONEK_TASKS)
    halves = [h for h, pair in (("3ep", ("reinit", "reinit_1k")), ("longer", ("longer", "longer_1k")))
              if not outside_run(ctx, *pair)]  # the halves of the table this run has
    if len(halves) == 1:
        header[-2:] = [f"setting ({'3 ep' if halves == ['3ep'] else 'Longer'})", "seeds"]
    for task in tasks:
        groups = table1_groups(ctx, task)
        marked = best_and_equivalent({k: v[0] for k, v in groups.items() if len(v[0])})
        paper = cells[PAPER_NAMES.get(task, task)]
        for method, label in (("standard", "Standard"), ("reinit", "Re-init")):
            short, longer = groups[(method, "3ep")], groups[(method, "longer")]
            rows.append([task, label, _cell(short[0], (method, "3ep") in marked, short[2], notes),
                         fmt_ms(*paper[method]["3ep"]),
                         _cell(longer[0], (method, "longer") in marked, longer[2], notes),
                         fmt_ms(*paper[method]["longer"]),
                         " / ".join(setting_text(groups[(method, h)][1]) or "—" for h in halves),
                         " / ".join(str(len(groups[(method, h)][0])) for h in halves)])
    note = ("Test performance x100 at the best-validation checkpoint (accuracy; F1 for MRPC; Spearman for STS-B; "
            "Matthews correlation for CoLA). **Bold**: in each group of four (Standard/Re-init x 3 epochs/Longer), "
            "the best mean and those a one-tailed Student's t-test cannot separate from it (p >= 0.05), the paper's "
            "rule. Re-init's L and Longer's iterations are chosen by mean validation performance (Sec. 5, 6).")
    if tasks != SMALL_TASKS:
        note += (" (1k): train downsampled to 1,000 examples; at a profile whose training cap is below 1,000 the "
                 "small tasks' (1k) rows train on the same examples as their full rows and share their trials.")
    for pair in (("reinit", "reinit_1k"), ("longer", "longer_1k")):  # a half this run left out: its columns go
        if outside_run(ctx, *pair):
            drop = [i for i, h in enumerate(header) if h.startswith("3 epochs" if pair[0] == "reinit" else "Longer")]
            header = [h for i, h in enumerate(header) if i not in drop]
            rows = [[c for i, c in enumerate(row) if i not in drop] for row in rows]
    notes = notes.only_in(rows)
    ran = [e for e in experiments if not outside_run(ctx, e)]
    return "\n\n".join([title, markdown_table(header, rows), notes.render(), note,
                        *[scale_line(ctx, e) for e in ran],
                        _write(ctx, "table1", header, rows, ctx.published["table1"]["caption"], notes, note)])


TABLE2 = [("standard", "Standard"), ("intermediate", "Int. Task"), ("llrd", "LLRD"), ("mixout", "Mixout"),
          ("pretrained_wd", "Pre-trained WD"), ("weight_decay", "WD"), ("reinit", "Re-init"), ("longer", "Longer")]


def table2_values(ctx: ReportContext, task: str) -> dict:
    """{column: Cell(scores x100, choice, reason, seeds)}: methods' arms at their chosen grid point; Re-init and Longer
    copied from Table 1 (as in the paper)."""
    out = {}
    for arm, _ in TABLE2:
        if arm == "reinit":
            out[arm] = table1_groups(ctx, task)[("reinit", "3ep")]
        elif arm == "longer":
            out[arm] = table1_groups(ctx, task)[("standard", "longer")]
        else:
            rows, choice = chosen(ctx, "methods", task, arm)
            out[arm] = Cell(pct(rows["test_at_best_val"]), choice, not_run(ctx, "methods", task, arm), _seeds(rows))
    return out


def _table2_sources(arm: str) -> tuple[str, ...]:
    """The experiments a Table 2 column reads: Re-init and Longer are Table 1's cells."""
    return {"reinit": ("reinit",), "longer": ("longer",)}.get(arm, ("methods",))


def paper_copy_mismatches(published: dict) -> list[str]:
    """The paper's Table 2 says its Re-init and Longer columns are Table 1's, yet some cells differ: each such cell
    as "CoLA Re-init: 64.2 ± 1.6 in Table 2, 63.9 ± 1.9 in Table 1"."""
    table1, table2 = published["table1"]["cells"], published["table2"]["cells"]
    columns = [label for _, label in TABLE2]
    out = []
    for task, values in table2.items():
        for arm, method, length in (("reinit", "reinit", "3ep"), ("longer", "standard", "longer")):
            mine = values[columns.index(dict(TABLE2)[arm])]
            theirs = table1[PAPER_NAMES.get(task, task)][method][length]
            if [round(v, 2) for v in mine] != [round(v, 2) for v in theirs]:
                out.append(f"{task} {dict(TABLE2)[arm]}: {fmt_ms(*mine)} in Table 2, {fmt_ms(*theirs)} in Table 1")
    return out


def section_table2(ctx: ReportContext) -> str:
    title = "## Table 2: older stabilising methods with debiased Adam (mean test performance ± std)"
    if outside_run(ctx, "methods", "reinit", "longer"):
        return outside_section(title, "methods", "reinit", "longer")
    published = ctx.published["table2"]["cells"]
    header = ["Task", "", *[label for _, label in TABLE2]]
    rows, chosen_rows, notes = [], [], Notes()
    for task in SMALL_TASKS:
        values = table2_values(ctx, task)
        base = values["standard"][0]
        ours = []
        for arm, _ in TABLE2:
            scores, choice, reason, _ = values[arm]
            better = arm != "standard" and mean_higher(scores, base) < 0.05  # NaN (too few runs) is not better
            ours.append(_cell(scores, bool(better), reason, notes))
        rows.append([task, "ours", *ours])
        rows.append([task, "paper", *[fmt_ms(*published[task][i]) for i in range(len(TABLE2))]])
        chosen_rows.append([task, *[setting_text(values[arm][1]) or "—" for arm, _ in TABLE2[:6]]])
    bold = ("**Bold**: significantly better than Standard (one-tailed Student's t-test, p < 0.05), the paper's rule. "
            "Each method's hyperparameters are chosen by mean validation performance over its seeds (Appendix H "
            "grids at profile paper; the profile's `grids` narrow them). Re-init and Longer are Table 1's cells.")
    mismatches = paper_copy_mismatches(ctx.published)
    if mismatches:  # the paper's own inconsistency, shown where its numbers are
        bold += (" The paper says its Table 2 copies Table 1's Re-init and Longer columns, but these of its cells "
                 "differ: " + "; ".join(mismatches) + ".")
    keep = [0, 1] + [i + 2 for i, (arm, _) in enumerate(TABLE2) if not outside_run(ctx, *_table2_sources(arm))]
    header, rows = [header[i] for i in keep], [[row[i] for i in keep] for row in rows]
    notes = notes.only_in(rows)
    parts = [title, markdown_table(header, rows), notes.render(), bold]
    if not outside_run(ctx, "methods"):
        parts += [scale_line(ctx, "methods"), "Chosen settings:",
                  markdown_table(["Task", *[label for _, label in TABLE2[:6]]], chosen_rows)]
    parts.append(_write(ctx, "table2", header, rows, ctx.published["table2"]["caption"], notes, bold))
    return "\n\n".join(parts)


def section_table2_searched(ctx: ReportContext) -> str:
    """Table 2's four tuned methods at the ASHA search's choices (methods_searched) beside the grid's choices."""
    title = "## Table 2 at the ASHA search's choices (mean test performance ± std)"
    if outside_run(ctx, "methods_searched"):
        return outside_section(title, "methods_searched")
    arms = [(arm, label) for arm, label in TABLE2 if arm in ("llrd", "mixout", "pretrained_wd", "weight_decay")]
    rows, notes = [], Notes()
    for task in SMALL_TASKS:
        grid = table2_values(ctx, task)
        asha, settings = [], []
        for arm, _ in arms:
            runs, _ = chosen(ctx, "methods_searched", task, arm)
            asha.append(_cell(pct(runs["test_at_best_val"]), False, not_run(ctx, "methods_searched", task, arm),
                              notes))
            settings.append(setting_text(dict(runs["settings"].iloc[0])) if len(runs) else "—")
        rows.append([task, "ASHA choice", *asha])
        rows.append([task, "ASHA setting", *settings])
        rows.append([task, "grid choice (Table 2)", *[_cell(grid[arm][0], False, grid[arm][2], notes)
                                                        for arm, _ in arms]])
    return "\n\n".join([
        title, markdown_table(["Task", "", *[label for _, label in arms]], rows), notes.render(),
        "`make search EXPERIMENT=methods` chooses each method's setting with ASHA over the Appendix H grid "
        "(complete trials only; its own report is under runs/reports/<study>-search-methods/); "
        "`methods_searched` then trains that setting with the table's seeds. The grid choice is Table 2's.",
        scale_line(ctx, "methods_searched")])


def _two_arms(ctx: ReportContext, experiment: str, tasks, arms, test, notes: Notes) -> list[list[str]]:
    rows = []
    for task in tasks:
        data = {arm: pct(chosen(ctx, experiment, task, arm)[0]["test_at_best_val"]) for arm in arms}
        p = test(*data.values())
        rows.append([task, *[_cell(data[a], False, not_run(ctx, experiment, task, a), notes) for a in arms],
                     "—" if np.isnan(p) else f"{p:.3f}"])
    return rows


def section_table4(ctx: ReportContext) -> str:
    if outside_run(ctx, "precision"):
        return outside_section("## Table 4: mixed vs full precision (Appendix C)", "precision")
    published = ctx.published["table4"]["cells"]
    header = ["Task", "Mixed (ours)", "Full (ours)", "p (two-tailed t)", "Mixed (paper)", "Full (paper)"]
    notes = Notes()
    rows = _two_arms(ctx, "precision", SMALL_TASKS, ["mixed", "full"], two_tailed, notes)
    rows = [r + [fmt_ms(*published["mixed"][r[0]]), fmt_ms(*published["full"][r[0]])] for r in rows]
    note = "Two-tailed Student's t-test; the paper finds no significant difference on any task."
    return "\n\n".join(["## Table 4: mixed vs full precision (Appendix C)", markdown_table(header, rows),
                        notes.render(), note, scale_line(ctx, "precision"),
                        _write(ctx, "table4", header, rows, ctx.published["table4"]["caption"], notes, note)])


def section_table5(ctx: ReportContext) -> str:
    if outside_run(ctx, "mnli_full"):
        return outside_section("## Table 5: full MNLI with and without bias correction (Appendix D)", "mnli_full")
    published = ctx.published["table5"]["cells"]
    header = ["", "Val acc. (ours)", "Test acc. (ours)", "Dev acc. (paper)", "Test acc. (paper)", "seeds"]
    rows, notes = [], Notes()
    for arm, label in (("bertadam", "No bias correction"), ("adamw", "Bias correction")):
        runs, _ = chosen(ctx, "mnli_full", "MNLI", arm)
        reason = not_run(ctx, "mnli_full", "MNLI", arm)
        rows.append([label, _cell(pct(runs["best_val"]), False, reason, notes),
                     _cell(pct(runs["test_at_best_val"]), False, reason, notes), fmt_ms(*published[arm]["val"]),
                     fmt_ms(*published[arm]["test"]), str(len(runs))])
    return "\n\n".join(["## Table 5: full MNLI with and without bias correction (Appendix D)",
                        markdown_table(header, rows), notes.render(), scale_line(ctx, "mnli_full"),
                        _write(ctx, "table5", header, rows, ctx.published["table5"]["caption"], notes,
                               "Val acc.: best validation accuracy; test acc.: at the best-validation checkpoint "
                               "(x100, mean ± std over the seeds).")])


def section_table6(ctx: ReportContext) -> str:
    """Rendered from suite.yaml: the paper profile's BERT row and each recipe's per-task hyperparameters."""
    paper_profile = ctx.suite["profiles"].get("paper")
    if paper_profile:  # the paper profile as the paper sees it: its defaults are the protocol
        paper_profile = resolve_profile(paper_profile, ctx.plan.paper, ctx.paper)
    header = ["Model", "Dataset", "Learning rate", "Epochs / steps", "Batch size", "Warm-up", "LLRD"]
    rows = []
    if paper_profile:
        rows.append([paper_profile["model"], "all", f"{paper_profile['lr']:g}", counted(paper_profile['epochs'], 'epoch'),
                     str(paper_profile["batch_size"]), f"{paper_profile['warmup_ratio']:.0%}", "—"])
    for recipe in (ctx.paper.get("recipes") or {}).values():
        for task, hp in recipe["tasks"].items():
            length = f"{hp['max_steps']} steps" if "max_steps" in hp else counted(hp['epochs'], 'epoch')
            warmup = f"{hp['warmup_steps']} steps" if "warmup_steps" in hp else f"{hp['warmup_ratio']:.0%}"
            rows.append([recipe["model"], task, f"{hp['lr']:g}", length, str(hp["batch_size"]), warmup,
                         str(hp.get("llrd", "—"))])
    return "\n\n".join(["## Table 6: fine-tuning hyperparameters of BERT and the other models (from suite.yaml)",
                        markdown_table(header, rows),
                        _write(ctx, "table6", header, rows, "Table 6: fine-tuning hyperparameters", None,
                               "Rendered from suite.yaml: the paper profile's BERT row, then each recipe's "
                               "per-task hyperparameters.")])


def section_table7(ctx: ReportContext) -> str:
    if outside_run(ctx, "other_models"):
        return outside_section("## Table 7: Re-init on other pre-trained models (Appendix F)", "other_models")
    published = ctx.published["table7"]["cells"]
    recipes = ctx.paper.get("recipes") or {}
    header = ["Model", "Task", "Standard (ours)", "Re-init (ours)", "Standard (paper)", "Re-init (paper)"]
    rows, notes = [], Notes()
    for name, recipe in recipes.items():
        for task in SMALL_TASKS:
            data = {arm: pct(chosen(ctx, "other_models", task, arm, recipe=name)[0]["test_at_best_val"])
                    for arm in ("standard", "reinit")}
            marked = best_and_equivalent({k: v for k, v in data.items() if len(v)})
            reason = not_run(ctx, "other_models", task)
            rows.append([recipe["model"], task,
                         *[_cell(data[a], a in marked, reason, notes) for a in ("standard", "reinit")],
                         fmt_ms(*published[name][task]["standard"]), fmt_ms(*published[name][task]["reinit"])])
    note = "Each model with its own recipe (Table 6); Re-init's L chosen by mean validation."
    return "\n\n".join(["## Table 7: Re-init on other pre-trained models (Appendix F)", markdown_table(header, rows),
                        notes.render(), note, scale_line(ctx, "other_models"),
                        _write(ctx, "table7", header, rows, ctx.published["table7"]["caption"], notes,
                               "**Bold**: for each model and task, the better mean and any a one-tailed Student's "
                               "t-test cannot separate from it (p >= 0.05), the paper's rule. Test performance "
                               "x100, mean ± std.", note)])
