"""The selfdistill report's Figure 4 claims where a profile's `tasks` leave out Figure 4's task (SNLI): "not run",
not a crash (it raised IndexError). Fast tier: the shipped selfdistill-cpu data, no MLflow, no Ray."""
import yaml

from analysis import claims as tests
from pipelines.config import load, scratch_copy
from pipelines.selection import resolved_plan
from reports.build import PUBLISHED, ReportContext
from reports.bundle import load_bundle
from reports.selfdistill import claims
from test_looks import ROOT

SELFDISTILL = ROOT / "docs" / "examples" / "selfdistill-cpu"


def test_figure4_claims_read_not_run_when_the_profile_leaves_out_its_task(tmp_path):
    path = scratch_copy(tmp_path, lambda d: d["profiles"]["cpu"]["papers"]["selfdistill"].update(tasks=["IMDb", "AG"]))
    config, bundle = load(path), load_bundle(SELFDISTILL)
    plan = resolved_plan(config, "selfdistill", "cpu", None, bundle.runs, bundle.searched)
    assert plan.ids("stability") == []
    published = yaml.safe_load((PUBLISHED / "selfdistill.yaml").read_text(encoding="utf-8"))
    _, profile = config.profile("cpu", "selfdistill")
    ctx = ReportContext(plan, profile, config.paper("selfdistill"), bundle.runs, tmp_path, published,
                        bundle.load_curves, suite=config.data, failed=bundle.failed)
    found = {c["id"]: c for c in published["claims"]}
    for claim in ("stability_mean", "stability_spread"):
        check = {**found[claim]["check"], "shape": found[claim]["shape"]}
        out = claims.CHECKS[check["kind"]](ctx, check)
        assert out == {"verdict": tests.NOT_RUN, "reason": "`stability` not run at this profile"}
