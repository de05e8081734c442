"""Xu et al. 2020 end to end at the smoke scale: `suite reproduce selfdistill` runs BASE (keeping SE, logits and
weights), SDA/SDV, λ and the data-order study through Ray Tune and MLflow; the report forms VOTE(4) and AVG(4)
from the saved artifacts, writes Tables 1-4, Figures 3-6 and the claims, and compiles to a PDF."""
import re
import shutil

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from analysis.claims import VERDICTS
from pipelines import tracking
from pipelines.config import load
from pipelines.plan import make_plan
from reports import pdf
from reports.selfdistill import ensembles
from test_report_pdf import need_pdflatex
from trainers.metrics import score


@pytest.fixture(scope="module")
def selfdistill(smoke_studies):
    """conftest's shared smoke study of the paper: (config, runs folder, its terminal output)."""
    config, runs, first = smoke_studies["selfdistill"]
    return config, runs, first.stdout


def test_base_runs_keep_what_vote_and_avg_need_and_the_groups_recompute(selfdistill):
    config, runs, out = selfdistill
    plan = make_plan(load(config), "selfdistill", "smoke")
    client = MlflowClient(f"sqlite:///{runs / 'mlflow.db'}")
    found = client.search_runs([client.get_experiment_by_name("selfdistill-smoke").experiment_id],
                               max_results=1000)
    assert f"trials: {len(found)} ran, 0 reused, 0 failed" in out  # each shared trial once (e.g. BASE seeds 1-2)
    assert {r.data.tags["trial_id"] for r in found} == {m.trial_id for name, members in plan.experiments.items()
                                                        if name not in plan.skipped for m in members}
    base = sorted((r for r in found if r.data.params.get("ensemble_outputs") == "True"
                   and r.data.tags["task"] == "IMDb-proxy"), key=lambda r: int(r.data.tags["data_seed"]))
    assert len(base) == 4 and all(r.data.tags.get("outputs") == "logits+weights" for r in base)
    assert all({"se_val", "se_test"} <= set(r.data.metrics) for r in base)
    saved = [tracking.read_outputs(client, r.info.run_id, weights=True) for r in base]
    # each run's saved test logits score exactly its logged last-step test accuracy
    labels = ensembles._test_labels(plan.specs[base[0].data.tags["trial_id"]].config)
    for run, outputs in zip(base, saved):
        assert score("accuracy", outputs["test_logits"], labels) == pytest.approx(run.data.metrics["test_accuracy_last"])
    # VOTE (Eq. 2): argmax of the summed probabilities, by hand
    probs = sum(np.exp(o["test_logits"]) / np.exp(o["test_logits"]).sum(1, keepdims=True) for o in saved)
    by_hand = float(np.mean(probs.argmax(1) == labels))
    # AVG (Eq. 3): the element-wise mean of the four state_dicts
    state = ensembles.average_state([o["state"] for o in saved])
    key = "classifier.weight"
    assert torch.allclose(state[key], torch.stack([o["state"][key] for o in saved]).mean(0), atol=1e-7)
    assert {k: (v.shape, v.dtype) for k, v in state.items()} == \
        {k: (v.shape, v.dtype) for k, v in saved[0]["state"].items()}
    report = (runs / "reports" / "selfdistill-smoke" / "report.md").read_text()
    assert f"| VOTE(4) (ours) | {100 * (1 - by_hand):.2f} ± 0.00 |" in report


def test_the_report_holds_every_table_figure_and_claim(selfdistill):
    _, runs, _ = selfdistill
    folder = runs / "reports" / "selfdistill-smoke"
    text = (folder / "report.md").read_text()
    for heading in ("## Table 1:", "## Table 2:", "## Table 3:", "## Table 4:", "## Figure 3:", "## Figure 4:",
                    "## Figure 5:", "## Figure 6:", "## Claim verdicts"):
        assert text.count(heading) == 1, heading
    assert "| BASE (paper) | 5.80 | 90.70 |" in text  # Table 3: IMDb error, SNLI accuracy as published
    assert "IMDb (ours: IMDb-proxy)" in text and "SNLI (ours: QNLI-proxy)" in text
    assert "| SDA (paper) | T−1 | 5.41 | 91.00 |" in text  # Table 2's row K = T-1
    assert "BERT-large (Table 4) has no offline checkpoint" in text
    claims = [(c, v) for c, v in re.findall(r"^\| (\w+) \| .+? \| (.+?) \| .+ \|$",
                                          text.split("## Claim verdicts")[1], re.M) if c != "Claim"]
    assert [c for c, _ in claims] == ["sd_beats_base", "vote_beats_base", "avg_beats_base", "vote_beats_avg",
                                     "se_helps_text", "sd_beats_se", "stability_mean", "stability_spread",
                                     "lambda_range"]
    assert {v for _, v in claims} <= set(VERDICTS)
    for name in ("figure3", "figure4", "figure5", "figure6"):
        assert (folder / "figures" / f"{name}.png").is_file(), name
    for name in ("table1", "table2", "table3", "table4"):
        assert (folder / "tables" / f"{name}.tex").is_file(), name


def test_the_selfdistill_report_compiles_to_a_pdf(selfdistill, tmp_path):
    need_pdflatex()
    _, runs, _ = selfdistill
    folder = shutil.copytree(runs / "reports" / "selfdistill-smoke", tmp_path / "selfdistill-smoke")
    assert pdf.main(["selfdistill", "--dir", str(folder)]) == 0
    assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-"
