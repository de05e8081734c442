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


def test_lambda_range_seeds_needed_read_the_validation_seen_by_a_nested_bootstrap():
    """lambda_range decides by a bootstrap share (95% in range reproduces, 5% refutes), outside the engine. The seeds
    it needs are read at the validation seen: worlds of n seeds drawn from the seeds seen, the fewest n of
    LAMBDA_SEEDS at which 80% of them cross. A clear winner in range needs the fewest, a closer one more; a winner
    out of range counts the seeds to refute."""
    import numpy as np
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, (5, 3))
    inside = np.array([False, True, False])  # λ 0.1, 1, 5; [1, 1.5] holds the middle one
    clear = noise + [0, 3, 0]
    close = noise + [0, 0.8, 0]
    assert claims.lambda_seeds_needed(clear, inside) == (5, "the validation seen")
    n_close, basis = claims.lambda_seeds_needed(close, inside)
    assert basis == "the validation seen" and 5 < n_close <= 1000
    assert claims.lambda_seeds_needed(close, inside) == (n_close, basis)  # seeded: the same count each time
    assert claims.lambda_seeds_needed(noise + [3, 0, 0], inside) == (5, "the validation seen, to refute it")
    assert claims.lambda_seeds_needed(noise + [0, 0.4, 0], inside)[0] > n_close  # closer still: more seeds
    share = claims.in_range_share(clear, inside, np.random.default_rng(1), 2000)
    assert share >= 0.95  # and the shipped rule would already reproduce it
