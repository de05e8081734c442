"""The label-regularization paper end to end at the smoke scale: `suite reproduce labelreg` runs teachers before
their students through Ray Tune and MLflow and writes every table of Kobyzev et al. (ours beside the paper's,
or not run with the reason), Figure 1 from the objectives, the claims, and a report that compiles to a PDF."""
import re
import shutil

import pytest
from mlflow.tracking import MlflowClient

from analysis.claims import VERDICTS
from pipelines.config import load
from pipelines.plan import make_plan
from reports import pdf
from test_report_pdf import need_pdflatex


@pytest.fixture(scope="module")
def labelreg(smoke_studies):
    """conftest's shared smoke study of the paper: (config, runs folder, its terminal output)."""
    config, runs, first = smoke_studies["labelreg"]
    return config, runs, first.stdout


def test_teachers_run_once_and_every_student_reads_its_teachers_logits(labelreg):
    config, runs, out = labelreg
    plan = make_plan(load(config), "labelreg", "smoke")
    runnable = [s for s in plan.unique() if s.trial_id not in
                {t.trial_id for name in plan.skipped for t in plan.estimates.get(name, [])}]
    assert f"trials: {len(runnable)} ran, 0 reused, 0 failed" in out
    client = MlflowClient(f"sqlite:///{runs / 'mlflow.db'}")
    found = client.search_runs([client.get_experiment_by_name("labelreg-smoke").experiment_id], max_results=1000)
    by_trial = {r.data.tags["trial_id"]: r for r in found}
    assert len(found) == len(by_trial) == len(runnable)  # no teacher ran twice
    students = [r for r in found if "teacher" in r.data.params]
    assert {r.data.params["objective"] for r in students} == {"kd", "selfkd"}
    for run in students:  # its teacher finished before it started and left its train-set logits
        teacher = by_trial[run.data.params["teacher"]]
        assert "train_logits" in teacher.data.tags and teacher.info.end_time <= run.info.start_time
    fewrel_kd = {r.data.tags["init_seed"]: r.data.params["teacher"] for r in students
                 if r.data.tags["task"] == "FewRel"}
    assert len(set(fewrel_kd.values())) == len(fewrel_kd) == 2  # FewRel: a teacher per seed (a split per seed)


def test_the_report_holds_every_table_with_the_papers_numbers_and_the_claims(labelreg):
    _, runs, _ = labelreg
    folder = runs / "reports" / "labelreg-smoke"
    text = (folder / "report.md").read_text()
    for heading in ("## Table 1:", "## Appendix D:", "## Table 2:", "## Table 3:", "## Table 4:", "## Table 5:",
                    "## Table 6:", "## Table 7:", "## Table 8:", "## Table 9:", "## Tables 10-13:",
                    "## Figure 1:", "## Claim verdicts"):
        assert text.count(heading) == 1, heading
    assert "| Teacher (paper) | 82.60 | 84.82 |" in text  # Table 1's test row: RTE and Score, as published
    assert "BERT-small/BERT-large and DistilGPT-2/GPT-2 (Tables 2-3) have no offline checkpoints" in text
    assert "Not run: ResNet18 on CIFAR-100 images" in text
    assert "| Base vs KD |" in text and "| 0.94 | 0.01 |" in text  # Table 8: the paper's p-values beside ours
    # Figure 1 from the objectives themselves (K = 5, gold class 2): LS alpha 0.1 (Eq. 3), TF-reg a 0.95 alpha 0.5
    assert "- LS: 0.020, 0.020, 0.920, 0.020, 0.020" in text
    assert "- TF-reg: 0.006, 0.006, 0.975, 0.006, 0.006" in text
    claims = [(c, v) for c, v in re.findall(r"^\| (\w+) \| .+? \| (.+?) \| .+ \|$",
                                          text.split("## Claim verdicts")[1], re.M) if c != "Claim"]
    assert [c for c, _ in claims] == ["ri_gain_kd", "ri_gain_tfreg", "ri_gain_ls", "ri_gain_selfkd", "kd_no_gain",
                                     "tfreg_no_gain", "ls_no_gain", "selfkd_no_gain", "table8"]
    assert {v for _, v in claims} <= set(VERDICTS)
    assert (folder / "figures" / "figure1.png").is_file() and (folder / "tables" / "table8.tex").is_file()


def test_the_report_says_what_ran_not_what_the_paper_ran(labelreg):
    """Captions give our seed count beside the paper's, counts agree in number, a ? digit is explained where it is
    shown, the protocol table lists only what this profile runs (and the search), Figure 1 draws every arm."""
    config, runs, _ = labelreg
    folder = runs / "reports" / "labelreg-smoke"
    text = (folder / "report.md").read_text()
    plan = make_plan(load(config), "labelreg", "smoke")
    seeds = len({plan.specs[i].config.init_seed for i in plan.ids("glue")})
    assert f"## Table 1: DistilRoBERTa students of a RoBERTa-large teacher on GLUE (dev and test, the paper's 5 " \
           f"seeds, {seeds} here)" in text
    dev = (folder / "tables" / "table1_dev.tex").read_text()
    assert f"(dev, the paper's 5 seeds, {seeds} here)" in dev and ") (dev)" not in dev
    assert not re.search(r"\b1 (blocks|epochs)\b", text)  # smoke: the first block, one epoch
    sizes = {}
    for spec in plan.specs.values():
        sizes.setdefault(spec.config.task, set()).add(spec.config.train_examples)
    assert len(sizes) >= 2 and all(len(n) == 1 for n in sizes.values())
    profile_line = next(line for line in text.splitlines() if line.startswith("Profile **smoke**"))
    assert "training examples " + ", ".join(f"{t} {n:,}" for t, (n,) in sizes.items()) + ";" in profile_line
    assert text.count("A ? in the paper's numbers") >= 2 and "A ? in the paper's numbers" in dev
    hyper = text.split("## Tables 10-13")[1].split("## Figure 1")[0]
    assert "| glue_bert |" not in hyper and "| search_kd |" in hyper and "so not listed: teachers_bert, glue_bert" in hyper
    assert "- Self-KD: 0.025, 0.075, 0.800, 0.075, 0.025" in text  # KD's target from the illustrative teacher


def test_the_labelreg_report_compiles_to_a_pdf(labelreg, tmp_path):
    need_pdflatex()
    _, runs, _ = labelreg
    folder = shutil.copytree(runs / "reports" / "labelreg-smoke", tmp_path / "labelreg-smoke")
    tex = (folder / "report.tex").read_text()
    for table in sorted(p.relative_to(folder).as_posix() for p in (folder / "tables").glob("*.tex")):
        assert rf"\input{{{table}}}" in tex and (folder / table).read_text().isascii(), table
    assert pdf.main(["labelreg", "--dir", str(folder)]) == 0
    assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-"
