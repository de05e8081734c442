"""Report spec for "Do we need Label Regularization to Fine-tune Pre-trained Language Models?" (Kobyzev et al.,
EACL 2023): students beside their teachers (Tables 1-5, 7), random-init SST-5 and the Wilcoxon table (8, 9), the
hyperparameters as run (10-13), what each arm trains on (Figure 1) and the claims. Published numbers:
reports/published/labelreg.yaml."""
from __future__ import annotations

from reports.build import ReportContext
from reports.index import not_run_reasons
from reports.kit import coverage
from reports.labelreg import claims, figures, tables
from reports.render import counted, model_text


def render(ctx: ReportContext) -> str:
    planned, done, _ = not_run_reasons(ctx.plan, ctx.runs, ctx.failed)
    p = ctx.profile
    seeds = ", ".join(f"{k} {v}" for k, v in p["seeds"].items())
    models = ", ".join(f"{role} = {model_text(m['model'], m.get('num_layers'))}"
                       for role, m in (p.get("models") or {}).items())
    header = "\n".join([
        f"# {ctx.paper['title']}: reproduction report", "",
        f"Profile **{ctx.plan.profile}**: {p['description']}. Model roles: {models or 'none'}; lr {p['lr']}, batch "
        f"{p['batch_size']}, {counted(p['epochs'], 'epoch')}, {p['evaluations']} evaluations (best dev checkpoint), max length "
        f"{p['max_seq_len']}, training examples {train_examples(ctx)}; seeds per cell: {seeds} (the paper: "
        f"five 5, eight 8).", "",
        "The paper's students are DistilRoBERTa, BERT-small and DistilGPT-2 on full GLUE; at a reduced profile compare "
        "the gaps between arms and their significance, not the levels.", "",
        f"Built from {done} finished runs of the {planned} trials planned at this profile."])
    sections = [
        coverage(ctx),
        tables.student_table(ctx, "table1", "glue", "teachers"),
        tables.section_search(ctx),
        tables.student_table(ctx, "table1", "glue_searched", "teachers",
                             "Table 1 at the search's choice (Appendix D)", "table1_searched"),
        tables.student_table(ctx, "table2", "glue_bert", "teachers_bert"),
        tables.student_table(ctx, "table3", "glue_gpt2", "teachers_gpt2"),
        tables.split_table(ctx, "table4", "sst5", "teachers", "SST-5"),
        tables.split_table(ctx, "table5", "fewrel", "teachers_fewrel", "FewRel"),
        tables.section_table6(ctx),
        tables.student_table(ctx, "table7", "glue_random", "teachers"),
        tables.section_table8(ctx), tables.section_table9(ctx),
        tables.section_hyperparameters(ctx),
        figures.section_figure1(ctx),
        claims.section_claims(ctx),
    ]
    return header + "\n\n" + "\n\n".join(sections) + "\n"


def train_examples(ctx: ReportContext) -> str:
    """The training examples each task's planned trials use (a profile's per-task sizes override its default)."""
    sizes: dict[str, set] = {}
    for spec in ctx.plan.specs.values():
        sizes.setdefault(spec.config.task, set()).add(spec.config.train_examples)
    return ", ".join(f"{task} " + "/".join(f"{n:,}" if n else "all" for n in sorted(ns, key=lambda n: n or 0))
                     for task, ns in sizes.items())


def claim_verdicts(ctx: ReportContext) -> list[dict]:
    return claims.verdicts(ctx)
