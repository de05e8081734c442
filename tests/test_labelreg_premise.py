"""KD's premise in the labelreg report: a teacher above its student on every task the KD claims read (test means).
Fast tier: the shipped labelreg-cpu data, no MLflow, no Ray."""
import yaml
import pytest

from pipelines.config import load
from pipelines.selection import resolved_plan
from reports.build import PUBLISHED, ReportContext
from reports.bundle import load_bundle
from reports.labelreg import claims
from test_looks import LABELREG, ROOT

KD_NO_GAIN = {"kind": "no_gain", "arm": "kd", "pairs": [["glue", "finetune"], ["sst5", "finetune"],
                                                        ["fewrel", "finetune"]]}


@pytest.fixture(scope="module")
def shipped():
    config, bundle = load(ROOT / "suite.yaml"), load_bundle(LABELREG)
    plan = resolved_plan(config, "labelreg", "cpu", bundle.experiments, bundle.runs, bundle.searched)
    return config, bundle, plan


def _ctx(shipped, tmp_path, runs=None):
    config, bundle, plan = shipped
    published = yaml.safe_load((PUBLISHED / "labelreg.yaml").read_text(encoding="utf-8"))
    _, profile = config.profile("cpu", "labelreg")
    return ReportContext(plan, profile, config.paper("labelreg"), bundle.runs if runs is None else runs, tmp_path,
                         published, bundle.load_curves, suite=config.data, failed=bundle.failed)


def test_the_cpu_teachers_beat_their_students_on_test(shipped, tmp_path):
    """Test means of the cpu example (3 seeds; SST-5 8): SST-2 76.3 vs Finetune 72.2, SST-5 43.0 vs 39.3, FewRel
    70.7 vs 68.7 (Tables 1, 4, 5): held. On dev, where each run chose its checkpoint, SST-2 read 78.7 vs 81.1."""
    ctx = _ctx(shipped, tmp_path)
    assert claims.teacher_premise(ctx, KD_NO_GAIN) is None
    assert claims.teacher_premise(ctx, {**KD_NO_GAIN, "arm": "ls"}) is None  # only KD has a teacher


def test_a_teacher_below_its_student_makes_the_kd_claims_could_not_tell(shipped, tmp_path):
    """The SST-2 teacher's test accuracy lowered to 70.0 (under Finetune's 72.2): the premise names SST-2 alone,
    and KD's no-gain claim reads "could not tell" for it; the other claims keep their verdicts."""
    _, bundle, plan = shipped
    runs = bundle.runs.copy()
    teacher = runs["trial_id"].isin([m.trial_id for m in plan.experiments["teachers"] if m.task == "SST-2"])
    assert teacher.sum() == 1
    runs.loc[teacher, "test_at_best_val"] = 0.70
    ctx = _ctx(shipped, tmp_path, runs)
    assert claims.teacher_premise(ctx, KD_NO_GAIN) == ("the teacher does not beat its student "
                                                       "(SST-2: teacher 70.0 vs finetune 72.2 on test)")
    before = {v["id"]: v for v in claims.verdicts(_ctx(shipped, tmp_path / "before"))}
    after = {v["id"]: v for v in claims.verdicts(ctx)}
    # before: undecided on its data (SST-5's gain crosses the margin), with a count; after: for want of the premise
    assert before["kd_no_gain"]["verdict"] == "could not tell" and before["kd_no_gain"]["pairs_needed"] == 36
    before = {k: v["verdict"] for k, v in before.items()}
    assert after["kd_no_gain"]["verdict"] == "could not tell"
    assert after["kd_no_gain"]["reason"] == ("premise absent at this profile: the teacher does not beat its student "
                                             "(SST-2: teacher 70.0 vs finetune 72.2 on test)")
    # the random-init students (SST-2 ~55) stay below the lowered teacher: ri_gain_kd and the rest keep theirs
    assert {k: v["verdict"] for k, v in after.items() if k != "kd_no_gain"} == \
        {k: v for k, v in before.items() if k != "kd_no_gain"}
