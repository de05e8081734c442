"""Report spec for "Improving BERT Fine-Tuning via Self-Ensemble and Self-Distillation" (Xu et al., 2020): the
datasets and our stand-ins (Table 1), teacher size K (Table 2), BASE / VOTE / AVG / SE / SDV / SDA with the
paper's Avg Δ (Table 3), BERT-large (Table 4, planned), Figures 3-6 and the claims. Published numbers:
reports/published/selfdistill.yaml."""
from __future__ import annotations

from reports.build import ReportContext
from reports.index import not_run_reasons
from reports.kit import coverage
from reports.render import counted, model_text
from reports.selfdistill import claims, figures, tables


def render(ctx: ReportContext) -> str:
    planned, done, _ = not_run_reasons(ctx.plan, ctx.runs, ctx.failed)
    p = ctx.profile
    models = ", ".join(f"{role} = {model_text(m['model'], m.get('num_layers'))}"
                       for role, m in (p.get("models") or {}).items())
    stand = ", ".join(f"{paper} → {ours}" for paper, ours in (p.get("stand_ins") or {}).items())
    header = "\n".join([
        f"# {ctx.paper['title']}: reproduction report", "",
        f"Profile **{ctx.plan.profile}**: {p['description']}. Model roles: {models or 'none'}; lr {p['lr']} (the new "
        f"classifier layer 1e-3), batch {p['batch_size']}, {counted(p['epochs'], 'epoch')}, warm-up {p['warmup_ratio']}, "
        f"{p['evaluations']} evaluations, max length {p['max_seq_len']}; seeds: "
        f"{', '.join(f'{k} {v}' for k, v in p['seeds'].items())}.", "",
        f"Offline stand-ins for the paper's datasets: {stand or 'none (the real datasets)'}. The paper reports one "
        "run per cell and chose λ and K on test data; ours runs seeds, chooses K on validation and reports the last "
        "step's test score, as the paper does.", "",
        f"Built from {done} finished runs of the {planned} trials planned at this profile."])
    sections = [coverage(ctx), tables.section_table1(ctx), tables.section_table2(ctx), tables.section_table3(ctx),
                tables.section_table4(ctx), figures.section_figure3(ctx), figures.section_figure4(ctx),
                figures.section_figure5(ctx), figures.section_figure6(ctx), claims.section_claims(ctx)]
    return header + "\n\n" + "\n\n".join(sections) + "\n"


def claim_verdicts(ctx: ReportContext) -> list[dict]:
    return claims.verdicts(ctx)
