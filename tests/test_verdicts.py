"""Claim verdicts say what the data can tell: the signal check per comparison, the smallest attainable p, Fisher's
combination over the tasks with signal, and the positive control a "no gain" claim needs."""
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from analysis import claims
from analysis.claims import COULD_NOT_TELL, NOT_REPRODUCED, NOT_RUN, REPRODUCED, signal, verdict

BETTER = np.array([72.0, 74.0, 73.0, 75.0])
WORSE = np.array([68.0, 69.0, 70.0, 67.0])


def fisher(*ps):
    return stats.combine_pvalues(list(ps), method="fisher").pvalue


def test_signal_reasons():
    # MRPC at the cpu profile: every run predicts the majority class (F1 81.2), in both arms.
    assert signal([[81.2, 81.2, 81.2], [81.2, 81.2, 81.2]], 81.2) == "all runs at the majority baseline"
    assert signal([[81.2, 80.0, 81.2], [0.0, 81.2, 81.2]], 81.2) == "all runs at the majority baseline"  # or below
    assert signal([[60.0, 60.0, 60.0], [70.0, 70.0, 70.0]], 50.0) == "no variance in either arm"
    assert signal([[60.0, 60.0], [70.0, 70.0], [1.0, 1.0]]) == "no variance in any arm"
    assert signal([[60.0, 61.0, 60.0], [70.0, 70.0, 70.0]], 50.0) is None  # one arm varies: a t-test is defined
    assert signal([[81.2, 85.0, 81.2], [81.2, 81.2, 81.2]], 81.2) is None  # one run beats the baseline
    assert signal([[1.0, 2.0], [3.0, 4.0]], min_runs=3) == "fewer than 3 runs a side"
    assert signal([[1.0], [3.0, 4.0]]) == "fewer than 2 runs a side"
    assert signal([[], [3.0, 4.0]]) == "no finished runs"
    # Counting runs at the baseline: constant arms are fine, but some run must sit there.
    assert signal([[60.0, 60.0, 60.0], [50.0, 50.0, 50.0]], 50.0, spread=False, events=True) is None
    assert signal([[60.0, 61.0, 62.0], [60.0, 63.0, 62.0]], 50.0, spread=False, events=True) == \
        "no run at the majority baseline in either arm"
    assert [claims.reason_kind(r) for r in ("no finished runs", "fewer than 3 runs a side",
                                            "all runs at the majority baseline", "no variance in either arm")] == \
        [NOT_RUN, "too few seeds", "no signal", "no signal"]


def test_exact_floor_is_what_the_exact_tests_reach():
    assert claims.exact_floor(2, 2) == pytest.approx(1 / 6)
    assert claims.fewer_events(0, 2, 2, 2) == pytest.approx(1 / 6)  # the most extreme 2 vs 2 table
    assert claims.exact_floor(4, 4) == pytest.approx(1 / 70)
    assert claims.fewer_events(0, 4, 4, 4) == pytest.approx(1 / 70)
    assert claims.exact_floor(3, 3, resamples=9999) == pytest.approx(1 / 20)
    assert claims.min_higher([5.0, 6.0, 7.0], [1.0, 2.0, 3.0], seed=0) == pytest.approx(1 / 20)  # exact: 20 splits
    assert claims.exact_floor(10, 10, resamples=9999) == pytest.approx(1 / 10000)  # Monte Carlo: 184,756 splits


def test_a_clear_effect_is_reproduced_with_the_scipy_p():
    p_rte = stats.ttest_ind(BETTER, WORSE, alternative="greater").pvalue
    p_stsb = stats.ttest_ind(BETTER + 1, WORSE, alternative="greater").pvalue
    ps = {"RTE": claims.mean_higher(BETTER, WORSE), "STS-B": claims.mean_higher(BETTER + 1, WORSE)}
    assert ps["RTE"] == pytest.approx(p_rte) and p_rte < 0.01
    v = verdict(ps, {"RTE": None, "STS-B": None}, expects_effect=True, seeds=4)
    expected = fisher(p_rte, p_stsb)
    assert v.verdict == REPRODUCED and v.combined_p == pytest.approx(expected)
    assert v.reason == f"combined p {expected:.3g} < 0.05 at 4 runs a side over RTE, STS-B"
    assert v.per_task == pytest.approx({"RTE": p_rte, "STS-B": p_stsb}) and v.left_out == {}
    weak = verdict({"RTE": 0.3}, {"RTE": None})
    assert weak.verdict == NOT_REPRODUCED and weak.reason == "combined p 0.3 ≥ 0.05 over RTE"


def test_the_combination_leaves_out_tasks_without_signal():
    # The cpu profile's Sec. 4 case: MRPC and CoLA at the baseline used to enter with p = 1.
    ps = {"RTE": 0.03, "MRPC": 1.0, "STS-B": 0.02, "CoLA": 1.0}
    reasons = {"RTE": None, "MRPC": claims.AT_BASELINE, "STS-B": None, "CoLA": claims.AT_BASELINE}
    assert claims.combine(ps.values()) > 0.05  # what the old verdict combined: "not reproduced"
    v = verdict(ps, reasons, expects_effect=True, seeds=4)
    assert v.verdict == REPRODUCED and v.combined_p == pytest.approx(fisher(0.03, 0.02))
    assert v.per_task == {"RTE": 0.03, "STS-B": 0.02}
    assert v.left_out == {"MRPC": "all runs at the majority baseline", "CoLA": "all runs at the majority baseline"}
    assert v.reason.endswith("over RTE, STS-B (left out: MRPC, CoLA all runs at the majority baseline)")


def test_no_signal_too_few_seeds_and_not_run():
    at = claims.AT_BASELINE
    v = verdict({"MRPC": 1.0, "CoLA": 1.0}, {"MRPC": at, "CoLA": at})
    assert v.verdict == COULD_NOT_TELL and np.isnan(v.combined_p)
    assert v.reason == "no signal on any task: MRPC, CoLA all runs at the majority baseline"
    two = verdict({"RTE": float("nan")}, {"RTE": claims.too_few(3)})
    assert (two.verdict, two.reason) == (COULD_NOT_TELL, "too few seeds: RTE fewer than 3 runs a side")
    mixed = verdict({}, {"RTE": claims.too_few(3), "MRPC": at, "CoLA": claims.NO_RUNS})
    assert mixed.verdict == COULD_NOT_TELL and mixed.reason.startswith("no task could be tested: RTE fewer than 3")
    none = verdict({}, {"RTE": claims.NO_RUNS, "MRPC": claims.NO_RUNS})
    assert (none.verdict, none.reason) == (NOT_RUN, "no finished runs on any task")


def test_two_seeds_cannot_reach_significance_with_an_exact_test():
    # 2 runs a side, every BERTAdam run degenerate and no debiased one: the strongest outcome on two tasks.
    p = claims.fewer_events(0, 2, 2, 2)
    floor = claims.exact_floor(2, 2)
    v = verdict({"RTE": p, "MRPC": p}, {"RTE": None, "MRPC": None}, floors={"RTE": floor, "MRPC": floor}, seeds=2)
    expected = fisher(1 / 6, 1 / 6)
    assert expected == pytest.approx((1 + 2 * np.log(6)) / 36)  # chi2 with 4 df at 4 ln 6, in closed form
    assert v.verdict == COULD_NOT_TELL and v.combined_p == pytest.approx(expected)
    assert v.reason == f"too few seeds: with 2 runs a side the smallest attainable p is {expected:.3g} over RTE, MRPC"
    # 4 runs a side can: 1/70 per task.
    p4 = claims.fewer_events(0, 4, 4, 4)
    four = verdict({"RTE": p4}, {"RTE": None}, floors={"RTE": claims.exact_floor(4, 4)}, seeds=4)
    assert four.verdict == REPRODUCED and four.combined_p == pytest.approx(1 / 70)


def _control(p_by_task):
    return verdict(p_by_task, {t: None for t in p_by_task}, expects_effect=True, seeds=3)


def test_no_gain_needs_a_significant_positive_control():
    no_gain = {"STS-B": 0.6}
    failed = verdict(no_gain, {"STS-B": None}, expects_effect=False, control=_control({"STS-B": 0.3}), seeds=3,
                     control_name="Re-init over Standard")
    assert failed.verdict == COULD_NOT_TELL and failed.control_p == pytest.approx(0.3)
    assert failed.reason == ("the positive control (Re-init over Standard) was not significant at 3 seeds: "
                             "p 0.3 over STS-B; the claim's own combined p 0.6 ≥ 0.05 at 3 runs a side over STS-B")
    good = verdict(no_gain, {"STS-B": None}, expects_effect=False, control=_control({"STS-B": 0.001}), seeds=3,
                   control_name="Re-init over Standard")
    assert good.verdict == REPRODUCED and good.combined_p == 0.6
    assert good.reason == ("no significant gain: combined p 0.6 ≥ 0.05 at 3 runs a side over STS-B, while the "
                           "positive control (Re-init over Standard) was significant at 3 seeds: p 0.001 over STS-B")
    gain = verdict({"STS-B": 0.01}, {"STS-B": None}, expects_effect=False, control=_control({"STS-B": 0.001}))
    assert gain.verdict == NOT_REPRODUCED and gain.reason.startswith("a significant gain: combined p 0.01 < 0.05")
    bare = verdict(no_gain, {"STS-B": None}, expects_effect=False)
    assert bare.verdict == COULD_NOT_TELL and bare.reason.startswith("a no-gain claim needs a positive control")


def test_the_control_counts_only_on_the_tasks_the_claim_tested():
    control = _control({"RTE": 1e-4, "STS-B": 0.4})
    assert control.verdict == REPRODUCED  # significant over both tasks, thanks to RTE
    v = verdict({"RTE": 0.9, "STS-B": 0.5}, {"RTE": claims.AT_BASELINE, "STS-B": None}, expects_effect=False,
                control=control)
    assert v.verdict == COULD_NOT_TELL and v.control_p == pytest.approx(0.4)
    elsewhere = verdict({"MRPC": 0.5}, {"MRPC": None}, expects_effect=False, control=control, control_name="C")
    assert elsewhere.verdict == COULD_NOT_TELL
    assert elsewhere.reason == "the positive control (C) could not be tested on MRPC: it was tested on RTE, STS-B"


def test_report_verdicts_wire_the_control_by_claim_id_and_are_cached(monkeypatch, tmp_path):
    from reports.revisiting import claims as report
    fixed = {  # kind -> task -> (p, reason, floor, runs)
        "mean_higher": {"RTE": (0.001, None, 0.0, 3), "STS-B": (0.002, None, 0.0, 3)},
        "no_gain": {"RTE": (0.7, None, 0.0, 3), "STS-B": (0.4, None, 0.0, 3)},
        "fewer_degenerate": {"RTE": (0.05, None, 0.05, 3)},  # 3 vs 3, Fisher's exact test: 1/20 at best
    }
    calls = []

    def comparison(ctx, check, task):
        calls.append((check["kind"], task))
        return fixed[check["kind"]].get(task, (float("nan"), claims.AT_BASELINE, 0.0, 0))
    monkeypatch.setattr(report, "comparison", comparison)
    published = {"claims": [
        {"id": "gain", "section": "Sec. 7", "statement": "no gain", "check": {"kind": "no_gain", "arms": ["wd"]},
         "control": {"claim": "reinit", "name": "Re-init"}},
        {"id": "reinit", "section": "Sec. 5", "statement": "Re-init helps", "check": {"kind": "mean_higher"}},
        {"id": "degenerate", "section": "Sec. 4", "statement": "fewer", "check": {"kind": "fewer_degenerate"}}]}
    ctx = SimpleNamespace(published=published, plan=SimpleNamespace(profile="cpu"), out_dir=tmp_path)
    out = report.verdicts(ctx)
    assert [v["verdict"] for v in out] == [REPRODUCED, REPRODUCED, COULD_NOT_TELL]
    assert out[0]["control"] == "Re-init" and out[0]["control_p"] == pytest.approx(fisher(0.001, 0.002))
    assert out[0]["combined_p"] == pytest.approx(fisher(0.7, 0.4))
    assert out[0]["per_task"] == {"RTE": 0.7, "STS-B": 0.4, "MRPC": claims.AT_BASELINE,
                                  "CoLA": claims.AT_BASELINE}
    assert out[2]["reason"] == ("too few seeds: with 3 runs a side the smallest attainable p is 0.05 over RTE (left "
                                "out: MRPC, STS-B, CoLA all runs at the majority baseline)")
    assert set(out[0]) >= {"section", "statement", "verdict", "reason", "combined_p"}
    n = len(calls)
    assert len(set(calls)) == n == 12  # each claim once on each task; the control reuses the Sec. 5 verdict
    out[0]["per_task"]["RTE"] = "changed"
    text = report.section_claims(ctx)
    assert len(calls) == n  # cached on the context
    assert "| Sec. 7 | no gain | **reproduced** | no significant gain: combined p" in text
    assert "RTE 0.700; MRPC: all runs at the majority baseline; STS-B 0.400" in text
    assert "(here: Sec. 7 (no_gain): Re-init)" in text
    latex = (tmp_path / "tables" / "claims.tex").read_text()  # the same verdicts in the PDF's last table
    assert r"\caption{Claim verdicts at profile cpu}" in latex and r"\textbf{reproduced}" in latex
    assert "Sec. 7 (no\\_gain): Re-init" in latex and "LaTeX: `tables/claims.tex`" in text


def test_wilcoxon_paired_reproduces_table_8s_exact_p_values():
    """Kobyzev et al. Table 8 (n = 8 seeds): W = 0, 12 and 17 give the printed .01, .46 and .94 only exactly."""
    from analysis.claims import smallest_p, wilcoxon_paired
    base = np.zeros(8)
    ranks = np.arange(1.0, 9.0)
    for negative, w, p in (([], 0, 0.0078125), ([0, 3, 6], 12, 0.4609375), ([1, 6, 7], 17, 0.9453125)):
        d = ranks.copy()
        d[negative] *= -1
        test = wilcoxon_paired(base + d, base)
        assert (test.statistic, test.pvalue, test.n, test.zeros) == (w, p, 8, 0)
    assert smallest_p(5) == 0.0625 and smallest_p(5, "greater") == 0.03125  # 5 seeds cannot reach .05 two-sided
    assert wilcoxon_paired(ranks[:5], np.zeros(5)).pvalue == 0.0625


def test_wilcoxon_paired_drops_ties_and_missing_pairs_and_says_so():
    from analysis.claims import wilcoxon_paired
    test = wilcoxon_paired([1.0, 2.0, 3.0, np.nan, 5.0], [1.0, 1.0, 1.0, 0.0, 1.0], alternative="greater")
    assert (test.n, test.zeros, test.mean_diff) == (3, 1, 1.75)  # one tie dropped, the NaN pair left out
    assert test.pvalue == 0.125  # all three ranked pairs positive: 1 / 2^3
    assert wilcoxon_paired([1.0, 2.0], [1.0, 2.0]).pvalue == 1.0  # nothing to rank: no evidence
    with pytest.raises(ValueError, match="equal lengths"):
        wilcoxon_paired([1.0], [1.0, 2.0])



def test_equivalence_bounds_the_paired_difference_by_hand():
    from analysis.claims import equivalent
    d = [0.1, -0.2, 0.3, 0.0]  # mean 0.05, sd 0.2082; t(0.95, 3) = 2.3534: half-width 0.2450
    inside, (low, high) = equivalent(d, 0.5)
    assert inside and low == pytest.approx(0.05 - 0.2450, abs=1e-4) and high == pytest.approx(0.2950, abs=1e-4)
    assert not equivalent(d, 0.25)[0]  # the interval reaches 0.295: not inside ±0.25
    assert equivalent([0.3], 1.0)[0] is False  # one pair bounds nothing
