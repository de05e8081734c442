"""The suite's front page: runs/reports/index.md, one row per report with its coverage (trials finished / planned /
not run and why) and its claim verdicts counted. Each report folder carries a summary.json written beside its
report.md by the report stage; the index is rebuilt from those, so it lists every report present, of any paper
and profile."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from analysis.claims import COULD_NOT_TELL, VERDICTS
from analysis.engine import MOST_PAIRS, about
from pipelines.availability import reason
from pipelines.plan import Plan
from reports.render import markdown_table

SUMMARY = "summary.json"


def not_run_reasons(plan: Plan, runs: pd.DataFrame, failed: dict[str, str]) -> tuple[int, int, Counter]:
    """(unique trials planned, finished, {why: count} for the rest), each trial counted once. Planned includes
    the stand-in trials of pending and skipped experiments, as `suite plan` counts them."""
    finished_ids = set(runs.get("trial_id", []))
    why: dict[str, str] = {}
    for name in plan.stages:
        specs = [plan.specs[i] for i in plan.ids(name)] + plan.estimates.get(name, [])
        for spec in specs:
            if spec.trial_id in finished_ids or why.get(spec.trial_id) == "":
                why[spec.trial_id] = ""
                continue
            if spec.trial_id in failed:
                text = f"failed: {failed[spec.trial_id]}"
            elif name in plan.skipped:
                text = f"skipped at profile {plan.profile}: {plan.skipped[name]}"
            else:
                text = reason(spec.config) or (f"pending: {plan.pending[name]}" if name in plan.pending
                                               else "not run yet (rerun `make reproduce`)")
            if spec.trial_id not in why or why[spec.trial_id].startswith("skipped"):
                why[spec.trial_id] = text  # an experiment that runs the trial outranks one that skips it
    return len(why), sum(1 for w in why.values() if not w), Counter(w for w in why.values() if w)


def summary(plan: Plan, title: str, runs: pd.DataFrame, failed: dict[str, str], verdicts: list[dict]) -> dict:
    planned, finished, reasons = not_run_reasons(plan, runs, failed)
    counts = Counter(v["verdict"] for v in verdicts)
    unknown = set(counts) - set(VERDICTS)
    if unknown:
        raise ValueError(f"unknown verdict {sorted(unknown)[0]!r} (valid: {', '.join(VERDICTS)})")
    return {"paper": plan.paper, "profile": plan.profile, "title": title, "planned": planned, "finished": finished,
            "not_run": dict(reasons.most_common()), "verdicts": {v: counts.get(v, 0) for v in VERDICTS},
            "claims": len(verdicts), "report": f"{plan.paper}-{plan.profile}/report.md",
            "undecided": [_need(v) for v in verdicts if v["verdict"] == COULD_NOT_TELL]}


def _need(v: dict) -> dict:
    """An undecided claim and what the engine says it needs: pairs a cell and trial-hours (None when unknown)."""
    hours = v.get("hours_needed")
    return {"id": v["id"], "pairs_needed": v.get("pairs_needed"), "needed_basis": v.get("needed_basis") or None,
            "hours_needed": round(hours, 2) if hours is not None and hours == hours else None}


def claim_needs(reports_dir: Path, paper: str, profile: str) -> str:
    """For `suite plan`: the undecided claims of the paper's last report at this profile, each with the seeds a
    cell the power rule asks for and their hours ("" when no report has been written)."""
    try:
        data = json.loads((reports_dir / f"{paper}-{profile}" / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return ""
    rows = data.get("undecided") or []
    if not rows:
        return f"claims: every claim decided at the last report ({data.get('report')})" if data.get("claims") else ""
    lines = [f"claims undecided at the last report ({data.get('report')}), by the power rule at its Holm share:"]
    for r in rows:
        basis = r.get("needed_basis")
        need = (f"needs {about(r['pairs_needed'])} seeds a cell" + (f" at {basis}" if basis else "")
                if r.get("pairs_needed") else f"no seed count: {basis or 'no signal here'}")
        hours = ""
        if r.get("hours_needed") is not None:  # past MOST_PAIRS the count is a floor, and so are its hours
            more = "over " if (r.get("pairs_needed") or 0) > MOST_PAIRS else "~"
            hours = f" ({more}{r['hours_needed']:.1f} trial-hours)"
        lines.append(f"  {r['id']}: {need}{hours}")
    return "\n".join(lines)


def write_summary(folder: Path, data: dict) -> None:
    (folder / SUMMARY).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def write_index(reports_dir: Path) -> Path:
    """runs/reports/index.md from every report folder's summary.json (search reports have none)."""
    summaries = []
    for path in sorted(reports_dir.glob(f"*/{SUMMARY}")):
        try:
            summaries.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue  # a folder being replaced right now; the next report stage rewrites the index
    rows = []
    for s in sorted(summaries, key=lambda s: (s["paper"], s["profile"])):
        not_run = "; ".join(f"{n} {why}" for why, n in s["not_run"].items()) or "—"
        rows.append([s["paper"], s["profile"], f"{s['finished']} / {s['planned']}", not_run,
                     *[str(s["verdicts"][v]) for v in VERDICTS],
                     f"[report]({s['report']})" + (f", [runs]({s['mlflow']})" if s.get("mlflow") else "")])
    body = (markdown_table(["Paper", "Profile", "Trials finished / planned", "Not run (why)",
                            *[v.capitalize() for v in VERDICTS], "Report"], rows) if rows
            else "No reports yet: run `make reproduce PAPER=all`.")
    text = "\n\n".join([
        "# Reproduction reports",
        "One row per paper and profile whose report exists under this folder. Trials are counted once even when "
        "several experiments share them; planned includes the stand-in trials of stages that wait for earlier ones. "
        "Claim verdicts: reproduced / not reproduced / could not tell (no signal at this scale, too little power for "
        "the paper's effect, or a premise the profile lacks) / not run (no data); each report says why per claim.",
        body,
    ]) + "\n"
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / "index.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
