"""Tables 1-4 of Xu et al. 2020: the datasets (paper's and ours), teacher size K (Table 2), every method on
BERT-base with the paper's Avg Δ (Table 3) and the BERT-large rows (Table 4). Ours first, the paper's row below."""
from __future__ import annotations

import numpy as np

from reports.build import ReportContext
from reports.kit import degenerate_threshold, not_run
from reports.render import counted, markdown_table, model_text, write_table
from reports.selfdistill import ensembles
from reports.selfdistill.common import (ARM_NAMES, NLI, PAPER_TASKS, TEXT, arm_scores, column_label, k_label,
                                        our_task, planned_columns, relative_reduction, shown)
from trainers.tasks import get_task, load_splits, split_seed

SINGLE_RUNS = ("The paper reports one run per cell and chose λ and K on test data; ours are mean ± sd over seeds, "
               "K chosen per task by mean validation at the last step, scores at the last step (the paper has no dev "
               "set for the text tasks).")


def _ms(values) -> str:
    """Mean ± sd to two decimals, as the paper prints its (single-run) cells."""
    values = np.asarray(list(values), dtype=float)
    if not len(values):
        return "—"
    return f"{values.mean():.2f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.2f}"


def _paper(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def _scale(ctx: ReportContext, experiment: str) -> str:
    specs = [ctx.plan.specs[i] for i in ctx.plan.ids(experiment)]
    if not specs:
        return ""
    models = sorted({(s.config.model, s.config.num_layers) for s in specs}, key=str)
    text = ", ".join(model_text(m, k) for m, k in models)
    cfg = specs[0].config
    seeds = len({s.config.data_seed for s in specs})
    sizes = ", ".join(f"{task} {n or 'all'}" for task, n in dict.fromkeys(
        (s.config.task, s.config.train_examples) for s in specs))
    return (f"Profile **{ctx.plan.profile}**: {text}, lr {cfg.lr:g} (head {cfg.head_lr:g}), batch {cfg.batch_size}, "
            f"{counted(cfg.epochs, 'epoch')}, length {cfg.max_seq_len}, training examples {sizes}; {seeds} seeds. Text tasks: "
            f"test error %; NLI: accuracy %. {SINGLE_RUNS}")


# Table 1 -------------------------------------------------------------------------------------------------------

def section_table1(ctx: ReportContext) -> str:
    published = ctx.published["table1"]
    rows = []
    for column, paper in published["tasks"].items():
        ours = our_task(ctx, column)
        dev, test = (" / ".join(f"{n:,}" for n in (v if isinstance(v, list) else [v])) if v else "—"
                     for v in (paper["dev"], paper["test"]))
        spec = next((s for s in ctx.plan.specs.values() if s.config.task == ours), None)
        if spec is None:
            reason = next((not_run(ctx, e) for e in ("self_distill", "ensembles") if e in ctx.plan.skipped), None)
            used = ["not run at this profile" + (f" ({reason})" if reason else ": no offline copy or stand-in"),
                    "", "", ""]
        else:
            cfg = spec.config
            splits = load_splits(ours, cfg.train_examples, cfg.eval_examples, cfg.full_train,
                                 split_seed(ours, cfg.data_seed), cfg.dev_halves)
            used = [ours if ours == PAPER_TASKS[column] else f"{ours} (stand-in)", str(get_task(ours).num_labels),
                    " / ".join(f"{len(splits[s]):,}" for s in ("train", "validation", "test")), _stand_in_note(ours)]
        rows.append([column, str(paper["labels"]), f"{paper['train']:,}", dev, test, *used])
    header = ["Paper dataset", "Labels", "Train", "Dev", "Test", "Ours", "Labels (ours)", "Train / val / test (ours)",
              "How ours is made"]
    notes = ["Sizes of ours are computed from the files with this profile's caps; val and test are what each "
             "trial evaluates."]
    write_table(ctx.out_dir / "tables" / "table1.tex", header, rows, "Table 1: datasets, the paper's and ours",
                "tab:sd-table1", notes)
    return "\n\n".join(["## Table 1: datasets", markdown_table(header, rows), notes[0]])


def _stand_in_note(task: str) -> str:
    doc = {"AG-proxy": "AG News's test file split 4,000/1,000/2,600 (stratified, fixed seed): its train file is "
                       "not offline",
           "IMDb-proxy": "CS224N's cfimdb train+dev (1,952 IMDb reviews) split 1,202/250/500",
           "QNLI-proxy": "GLUE QNLI's dev file split 2,000/1,000/2,463: an NLI-style pair task in place of SNLI",
           "SST-5": "SST-5 sentences (5 classes) in place of Yelp's 5-star reviews",
           "SST-2": "SST-2 sentences in place of Yelp's polarity reviews"}
    return doc.get(task, "the paper's dataset")


# Table 2 -------------------------------------------------------------------------------------------------------

def section_table2(ctx: ReportContext, experiment: str = "self_distill") -> str:
    published = ctx.published["table2"]
    title = "## Table 2: teacher size K"
    if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments:
        return f"{title}\n\n{not_run(ctx, experiment)}."
    paper_columns = ["IMDb", "AG", "SNLI"]
    columns = planned_columns(ctx, experiment)
    header = ["Arm", "K", *(column_label(ctx, c) for c in columns)]
    rows, chosen_k = [], {}
    for arm, ks in (("sdv", [1, 2, 3, 4, 5]), ("sda", ["all", 2, 3, 4, 5])):
        for k in ks:
            ours, paper = [f"{ARM_NAMES[arm]} (ours)", k_label(k)], [f"{ARM_NAMES[arm]} (paper)", k_label(k)]
            for column in columns:
                values, _ = arm_scores(ctx, experiment, column, arm, teacher_k=k)
                ours.append(_ms(values.values()) if values else "not run")
                cell = published["cells"][arm].get(k if k != "all" else "T-1")
                paper.append(_paper(cell[paper_columns.index(column)]) if column in paper_columns else "—")
            rows += [ours, paper]
    for column in columns:
        for arm in ("sdv", "sda"):
            _, choice = arm_scores(ctx, experiment, column, arm)
            if choice:
                chosen_k[(column, arm)] = k_label(choice.get("teacher_k"))
    chosen_text = "; ".join(f"{column_label(ctx, c)}: SDV K={chosen_k.get((c, 'sdv'), '—')}, "
                            f"SDA K={chosen_k.get((c, 'sda'), '—')}" for c in columns)
    notes = [f"K chosen by mean validation at the last step (Table 3 uses it): {chosen_text}.",
             "SDV(K=1) and SDA(K=1) are one teacher (tested). 'not run': K outside this profile's grid."]
    write_table(ctx.out_dir / "tables" / "table2.tex", header, rows, published["caption"], "tab:sd-table2", notes)
    return "\n\n".join([title, _scale(ctx, experiment), markdown_table(header, rows), *notes])


# Table 3 -------------------------------------------------------------------------------------------------------

def method_cells(ctx: ReportContext, column: str) -> dict[str, list[float]]:
    """Per method, the per-seed (VOTE/AVG: per-group) values of one column in the paper's metric."""
    task = our_task(ctx, column)
    out: dict[str, list[float]] = {}
    base, _ = arm_scores(ctx, "ensembles", column, "base")
    se, _ = arm_scores(ctx, "ensembles", column, "base", metric="se_test")
    out["base"], out["se"] = list(base.values()), list(se.values())
    if "ensembles" in ctx.plan.experiments and ctx.read_outputs is not None:
        groups = ensembles.group_scores(ctx, "ensembles", task)
        out["vote"] = list(shown(column, [g["vote"] for g in groups]))
        out["avg"] = list(shown(column, [g["avg"] for g in groups]))
    for arm in ("sdv", "sda"):
        values, _ = arm_scores(ctx, "self_distill", column, arm)
        out[arm] = list(values.values())
    return out


def section_table3(ctx: ReportContext) -> str:
    published = ctx.published["table3"]
    title = "## Table 3: BERT-base, every method"
    if "ensembles" not in ctx.plan.experiments and "self_distill" not in ctx.plan.experiments:
        return f"{title}\n\n{not_run(ctx, 'ensembles')}."
    columns = [c for c in PAPER_TASKS if c in set(planned_columns(ctx, "ensembles")) |
               set(planned_columns(ctx, "self_distill"))]
    cells = {c: method_cells(ctx, c) for c in columns}
    text_cols, nli_cols = [c for c in columns if c in TEXT], [c for c in columns if c in NLI]
    header = ["Method", *(column_label(ctx, c) for c in columns), "Avg Δ text", "Avg Δ NLI"]
    pub_cols = published["columns"]
    rows = []
    for method in ("base", "vote", "avg", "se", "sdv", "sda"):
        means = {c: float(np.mean(cells[c][method])) if cells[c].get(method) else None for c in columns}
        base = {c: float(np.mean(cells[c]["base"])) if cells[c].get("base") else None for c in columns}
        deltas = []
        for group in (text_cols, nli_cols):
            terms = [relative_reduction(c, base[c], means[c]) for c in group
                     if means[c] is not None and base[c] is not None]
            deltas.append("—" if method == "base" or not terms else f"{np.mean(terms):.2f}%")
        rows.append([f"{ARM_NAMES[method]} (ours)", *(_ms(cells[c].get(method, [])) for c in columns), *deltas])
        pub = published["cells"]["vote_k4" if method == "vote" else "avg_k4" if method == "avg" else method]
        paper_row = [_paper(pub[pub_cols.index("MNLI_m" if c == "MNLI" else c)]) for c in columns]
        rows.append([f"{ARM_NAMES[method]} (paper)", *paper_row,
                     _paper(pub[pub_cols.index("avg_delta_text")]) + ("%" if pub[5] is not None else ""),
                     _paper(pub[pub_cols.index("avg_delta_nli")]) + ("%" if pub[9] is not None else "")])
    counts = {m: (min(len(cells[c].get(m, [])) for c in columns) if columns else 0) for m in ("base", "vote", "sda")}
    majority = ", ".join(f"{column_label(ctx, c)} {shown(c, degenerate_threshold(ctx, our_task(ctx, c))):.1f}"
                         for c in columns)
    notes = [f"The majority class on our test splits, in the same metric: {majority}.",
             f"BASE and SE: {counts['base']}+ seeds of `ensembles` (SE is each BASE run's own weights averaged "
             f"over its steps, Eq. 4); VOTE(4)/AVG(4): {counts['vote']}+ disjoint groups of 4 of those seeds (Eq. 2-3, "
             f"from saved logits and weights, no new training); SDV/SDA: `self_distill` at each task's K chosen on "
             f"validation (Table 2), {counts['sda']}+ seeds.",
             "Avg Δ: the mean over the columns present of (error_BASE − error)/error_BASE (NLI: error = 100 − "
             "accuracy), as the paper computes it (its Δs recompute to 0.01); ours over the tasks that ran, the "
             "paper's over all of its own.",
             "Not run at this profile: " + ", ".join(column_label(ctx, c) for c in PAPER_TASKS if c not in columns)
             + " (no offline copy or stand-in); MNLI-mm likewise." if len(columns) < len(PAPER_TASKS) else "",
             "The stand-ins are smaller and easier or harder than the paper's datasets: compare the direction and "
             "size of the gaps, not the levels. The offline encoders were trained on NLI and paraphrase data."]
    notes = [n for n in notes if n]
    write_table(ctx.out_dir / "tables" / "table3.tex", header, rows, published["caption"], "tab:sd-table3", notes)
    return "\n\n".join([title, _scale(ctx, "self_distill"), markdown_table(header, rows), *notes])


# Table 4 -------------------------------------------------------------------------------------------------------

def section_table4(ctx: ReportContext, experiment: str = "large") -> str:
    published = ctx.published["table4"]
    header = ["Model", *published["columns"]]
    names = {"mt_dnn": "MT-DNN", "bert_large": "BERT-large", "sda_k1": "SDA(K=1)", "sda_kT1": "SDA(K=T−1)"}
    rows = [[f"{names[k]} (paper)", *(_paper(v) for v in cells)] for k, cells in published["cells"].items()]
    status = not_run(ctx, experiment) if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments \
        else f"{sum(1 for i in ctx.plan.ids(experiment) if i in set(ctx.runs.get('trial_id', [])))} of " \
             f"{len(ctx.plan.ids(experiment))} trials finished"
    planned = len(ctx.plan.estimates.get(experiment, [])) or len(ctx.plan.ids(experiment))
    notes = [f"Ours: {status}; {planned} trials planned (BASE, SDA(1), SDA(T−1) x IMDb, AG, SNLI x seeds).",
             published.get("notes", "")]
    write_table(ctx.out_dir / "tables" / "table4.tex", header, rows, published["caption"], "tab:sd-table4",
                [n for n in notes if n])
    return "\n\n".join(["## Table 4: BERT-large", markdown_table(header, rows), *[n for n in notes if n]])

