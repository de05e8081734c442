"""The claims engine (analysis/engine.py) against full enumerations computed here, scipy, a noncentral-t closed form,
and a simulation of studies with no true effect. Pure statistics: no Ray, no study."""
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import engine
from analysis.claims import COULD_NOT_TELL, NOT_REPRODUCED, REPRODUCED, wilcoxon_paired
from analysis.engine import Shape, Unit


def enumerate_sign_flip(d, alternative="greater"):
    d = np.asarray(d, float)
    observed, hits, total = d.mean(), 0, 0
    for signs in itertools.product((1, -1), repeat=d.size):
        m = float(np.mean(np.array(signs) * d))
        total += 1
        hits += {"greater": m >= observed - 1e-12, "less": m <= observed + 1e-12,
                 "two-sided": abs(m) >= abs(observed) - 1e-12}[alternative]
    return hits / total


@pytest.mark.parametrize("d", [[3, 1, 0, 2, -1, 2], [1, 1, 1, 1], [0, 0, 2, -2, 1], [5, -5, 5, -5, 0, 0, 1]])
@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_sign_flip_equals_the_full_enumeration_with_ties_and_zeros(d, alternative):
    assert engine.sign_flip(d, alternative) == pytest.approx(enumerate_sign_flip(d, alternative), abs=1e-12)


def test_sign_flip_equals_scipys_permutation_test():
    d = np.array([4.0, 1.0, 1.0, 0.0, -2.0, 3.0, 1.0, 2.0])
    want = stats.permutation_test((d,), np.mean, permutation_type="samples", alternative="greater",
                                  n_resamples=np.inf).pvalue
    assert engine.sign_flip(d) == pytest.approx(want, abs=1e-12)
    assert engine.sign_flip([1, 1, 1]) == 0.125 == engine.floor(3)  # three pairs cannot reach 0.05


def test_monte_carlo_beyond_the_exact_limit_is_seeded_and_close():
    d = np.random.default_rng(1).normal(0.3, 1, size=engine.EXACT_PAIRS + 4)
    first, again = engine.sign_flip(d, seed=5), engine.sign_flip(d, seed=5)
    assert first == again
    assert first == pytest.approx(stats.ttest_1samp(d, 0, alternative="greater").pvalue, abs=0.03)


def test_stratified_sign_flip_equals_enumeration_with_each_task_weighted_equally():
    groups = [np.array([2.0, 1.0, -1.0]), np.array([0.5, 0.5, 1.0, -0.5, 0.0])]
    d = np.concatenate(groups)
    w = np.concatenate([np.full(3, 1 / 6), np.full(5, 1 / 10)])
    observed = float(np.sum(d * w))
    hits = sum(float(np.sum(np.array(s) * d * w)) >= observed - 1e-12 for s in itertools.product((1, -1), repeat=8))
    assert engine.stratified_sign_flip(groups) == pytest.approx(hits / 256)


def test_swap_min_equals_enumeration():
    a, b = np.array([70.0, 72.0, 71.0, 69.0]), np.array([50.0, 71.0, 70.0, 72.0])
    hits = 0
    for swap in itertools.product((False, True), repeat=4):
        x, y = np.where(swap, b, a), np.where(swap, a, b)
        hits += (x.min() - y.min()) >= (a.min() - b.min())
    assert engine.swap_min(a, b) == hits / 16


def test_wilcoxon_with_tied_differences_uses_mid_ranks_exactly():
    """|d| = 1, 1, 2, 2, 2, 3 (ties): scipy's exact table assumes distinct ranks; enumerate the mid-ranks here."""
    d = np.array([1.0, -1.0, 2.0, 2.0, -2.0, 3.0])
    ranks = stats.rankdata(np.abs(d))
    observed = float(np.sum(np.sign(d) * ranks))
    hits = sum(float(np.sum(np.array(s) * ranks)) >= observed - 1e-12 for s in itertools.product((1, -1), repeat=6))
    test = wilcoxon_paired(d, np.zeros(6), alternative="greater")
    assert test.pvalue == pytest.approx(hits / 64) and test.statistic == ranks[d > 0].sum()
    # without ties the enumeration is scipy's exact table
    e = np.array([1.0, -2.0, 3.0, 4.0, 5.0, -6.0, 7.0])
    assert wilcoxon_paired(e, np.zeros(7)).pvalue == pytest.approx(stats.wilcoxon(e, method="exact").pvalue)


def test_scores_on_their_resolution_restore_true_ties():
    """Accuracy x 100 over 96 examples: 77 correct scored in float32 and in float64 differ by rounding noise."""
    a = float(np.float32(77 / 96)) * 100
    b = 100.0 * 77 / 96
    assert a != b and engine.on_resolution([a], 100 / 96)[0] == engine.on_resolution([b], 100 / 96)[0]


def test_power_is_the_noncentral_t_closed_form():
    n, sd, effect = 8, 1.5, 1.2
    df, nc = n - 1, effect / sd * math.sqrt(n)
    want = 1 - stats.nct.cdf(stats.t.ppf(0.95, df), df, nc)
    assert engine.power(effect, sd, n) == pytest.approx(want, rel=1e-6)
    assert engine.power(effect, sd, 4) == 0.0  # 2^-4 = 0.0625: the exact test cannot reach 0.05
    need = engine.pairs_needed(effect, sd)
    assert engine.power(effect, sd, need) >= 0.8 > engine.power(effect, sd, need - 1)


def scores_of(table: dict) -> pd.DataFrame:
    """{(task, arm): values by pair} -> a score frame."""
    return engine.frame((task, arm, i, v) for (task, arm), values in table.items() for i, v in enumerate(values))


def test_fisher_and_intersection_union_disagree_on_a_worked_example():
    """A gain on SST-5 (every one of 8 seeds) and none on FewRel: "on at least one task" holds, "on all" does not."""
    table = {("SST-5", "kd"): [44, 45, 46, 44, 47, 45, 46, 44], ("SST-5", "ft"): [42, 43, 43, 42, 44, 43, 44, 43],
             ("FewRel", "kd"): [80, 79, 81, 80, 78, 80, 79, 80], ("FewRel", "ft"): [81, 80, 80, 81, 79, 80, 80, 80]}
    units = [Unit("SST-5", "kd", "ft"), Unit("FewRel", "kd", "ft")]
    scores = scores_of(table)
    anyone = engine.evaluate("any", Shape("gain", "any", paper_effect=1.0), scores, units)
    every = engine.evaluate("all", Shape("gain", "all", paper_effect=1.0), scores, units)
    assert anyone.p < 0.05 <= every.p
    assert every.p == max(t.p for t in every.tests) and anyone.tests[0].p == 1 / 256
    decisions = engine.decide([anyone]) + engine.decide([every])  # each alone: no Holm between them
    assert decisions[0].verdict == REPRODUCED and decisions[1].verdict != REPRODUCED
    assert "FewRel" in decisions[1].reason


def test_no_gain_needs_the_margin_and_says_so_when_it_cannot_tell():
    ft = [80.0, 81, 79, 80, 82, 80, 81, 79]
    tight = scores_of({("T", "kd"): [v + 0.1 * (i % 2) for i, v in enumerate(ft)], ("T", "ft"): ft})
    shape = Shape("no_gain", "all", margin=1.0)
    held = engine.decide([engine.evaluate("c", shape, tight, [Unit("T", "kd", "ft")])])[0]
    assert held.verdict == REPRODUCED and "the gain stays below 1 point:" in held.reason
    gain = scores_of({("T", "kd"): [v + 3 for v in ft], ("T", "ft"): ft})
    assert engine.decide([engine.evaluate("c", shape, gain, [Unit("T", "kd", "ft")])])[0].verdict == NOT_REPRODUCED
    noisy = scores_of({("T", "kd"): [80.0, 70, 90], ("T", "ft"): [80.0, 80, 80]})
    d = engine.decide([engine.evaluate("c", shape, noisy, [Unit("T", "kd", "ft")])])[0]
    assert d.verdict == COULD_NOT_TELL and "needs about" in d.reason


def test_an_undecided_claim_needs_its_pairs_at_its_holm_share():
    """Three confirmatory claims, one reproduced: the two left undecided ask for pairs at alpha / 2 (the share
    they would be tested at), more than at alpha; alone in its family a claim asks for the engine's own."""
    rng = np.random.default_rng(3)
    base = 80 + rng.normal(0, 1, 8)
    gain = Shape("gain", "all", paper_effect=1.0)
    noisy = scores_of({("T", "x"): base + rng.normal(0.3, 1.5, 8), ("T", "y"): base})
    clear = scores_of({("T", "x"): base + 3 + rng.normal(0, 0.1, 8), ("T", "y"): base})
    unit = [Unit("T", "x", "y")]
    results = [engine.evaluate("a", gain, clear, unit), engine.evaluate("b", gain, noisy, unit),
               engine.evaluate("c", gain, noisy, unit)]
    out = engine.decide(results)
    assert [d.verdict for d in out] == [REPRODUCED, COULD_NOT_TELL, COULD_NOT_TELL]
    test = results[1].tests[0]
    assert out[1].needed == test.needed_at(engine.ALPHA / 2) > test.needed == engine.pairs_needed(1.0, test.sd)
    assert f"needs about {out[1].needed} pairs a task" in out[1].reason
    assert engine.decide([results[1]])[0].needed == test.needed


def test_an_undecided_claim_without_a_paper_effect_or_powered_for_it_needs_pairs_at_the_effect_seen():
    """Where the paper gives no effect, or every comparison already has power for it and the claim is still
    undecided (its true effect, if any, is smaller), the pairs it needs are read at the effect seen: the noncentral
    t at the observed mean and sd, at the claim's level. The other way, or a no-gain difference over its margin,
    gives no count and says where."""
    diffs = [2.0, -1.0, 1.5, 0.5, 3.0, -0.5, 1.0, 0.0]  # mean 0.8125, sd 1.28
    base = [70.0 + k for k in range(8)]
    scores = scores_of({("T", "x"): [b + d for b, d in zip(base, diffs)], ("T", "y"): base,
                        ("U", "x"): [b - d for b, d in zip(base, diffs)], ("U", "y"): base})
    sd = float(np.std(diffs, ddof=1))
    alone = engine.evaluate("a", Shape("gain", "all"), scores, [Unit("T", "x", "y")])
    d = engine.decide([alone])[0]
    # 19: the fewest n with nct.sf(t_0.95(n-1); n-1, 0.8125 / 1.3346 x sqrt(n)) >= 0.8, enumerated with scipy
    assert d.verdict == COULD_NOT_TELL and (d.needed, d.needed_basis) == (engine.pairs_needed(0.8125, sd),
                                                                          "the effect seen") == (19, "the effect seen")
    assert d.reason.endswith("needs about 19 pairs a task at the effect seen")
    powered = engine.evaluate("b", Shape("gain", "all", paper_effect=5.0), scores, [Unit("T", "x", "y")])
    # powered for the paper's 5 points at 5 pairs: undecided (e.g. by Holm), it needs the effect seen's 19
    assert powered.tests[0].needed == 5 and powered.need(engine.ALPHA) == engine.Need(19, "the effect seen")
    # U goes the other way: were that the true effect, U would refute the claim (one comparison the other way at
    # alpha over the 2 comparisons, as decide refutes) with 80% power at 24 pairs, from the same scipy enumeration
    # at 0.025
    units = [Unit("T", "x", "y"), Unit("U", "x", "y")]
    both = engine.evaluate("c", Shape("gain", "all"), scores, units)
    assert both.need(engine.ALPHA) == engine.Need(24, "the effect seen, to refute it on U", engine.ALPHA / 2)
    assert engine.decide([both])[0].reason.endswith("needs about 24 pairs a task at the effect seen, to refute it on U")
    # and the pairs seen, three times over (24 pairs, the same mean and about the same sd), do refute it
    tiled = scores_of({("T", "x"): np.tile([b + d for b, d in zip(base, diffs)], 3), ("T", "y"): np.tile(base, 3),
                       ("U", "x"): np.tile([b - d for b, d in zip(base, diffs)], 3), ("U", "y"): np.tile(base, 3)})
    refuted = engine.decide([engine.evaluate("c", Shape("gain", "all"), tiled, units)])[0]
    assert refuted.verdict == NOT_REPRODUCED and refuted.reason.startswith("the other way on U")
    # "any" scope is not refuted by one comparison the other way: no count, and the reason says where
    anyone = engine.evaluate("c", Shape("gain", "any"), scores, units)
    assert anyone.need(engine.ALPHA) == engine.Need(None, "the effect seen on U is not the claimed way")
    assert "; no seed count: the effect seen on U is not the claimed way" in engine.decide([anyone])[0].reason
    # no-gain within 2 points: powered at no true difference (5 pairs), so read at the room left, 2 - 0.8125
    within = engine.evaluate("d", Shape("no_gain", "all", margin=2.0), scores, [Unit("T", "x", "y")])
    assert within.tests[0].needed == 5 and within.need(engine.ALPHA) == engine.Need(10, "the effect seen")
    steady = scores_of({("T", "x"): [b + d for b, d in zip(base, [1.1, 1.3, 1.2, 1.0, 1.2, 1.1, 1.3, 1.2])],
                        ("T", "y"): base})
    over = engine.evaluate("e", Shape("no_gain", "all", margin=1.0), steady, [Unit("T", "x", "y")])
    # over its margin: a gain significantly over it refutes it, at 5 pairs were the gain seen the true one (0.175
    # over the margin, sd 0.10: the noncentral t asks 4, and 4 pairs cannot give p < 0.05)
    assert over.need(engine.ALPHA) == engine.Need(5, "the effect seen, to refute it on T", engine.ALPHA)
    tiny = scores_of({("T", "x"): [b + d for b, d in zip(base, [1, -1, 1, -1, 1, -1, 1, -0.9])], ("T", "y"): base})
    # a spread claim reads its Brown-Forsythe deviations: worse's minus better's absolute deviations from the median
    calm, wild = np.array([70.0, 70.5, 71, 70.2, 70.8, 70.4, 70.6, 70.1]), np.array(base)
    spread = engine.evaluate("g", Shape("lower_spread", "all"), scores_of({("T", "x"): calm, ("T", "y"): wild}),
                             [Unit("T", "x", "y")])
    dev = np.abs(wild - np.median(wild)) - np.abs(calm - np.median(calm))
    assert spread.need(engine.ALPHA) == engine.Need(engine.pairs_needed(dev.mean(), dev.std(ddof=1)), "the effect seen")
    faint = engine.decide([engine.evaluate("f", Shape("gain", "all"), tiny, [Unit("T", "x", "y")])])[0]
    assert faint.needed == engine.MOST_PAIRS + 1 and faint.reason.endswith(
        "needs more than 1000 pairs a task at the effect seen")


def test_degenerate_arms_and_identical_vectors():
    table = {("RTE", "a"): [50, 50, 50, 70], ("RTE", "b"): [60, 61, 62, 63],
             ("MRPC", "a"): [70, 71, 72, 73], ("MRPC", "b"): [60, 61, 62, 63],
             ("MRPC", "c"): [70, 71, 72, 73]}
    r = engine.evaluate("c", Shape("gain"), scores_of(table),
                        [Unit("RTE", "a", "b", "RTE a"), Unit("MRPC", "a", "b", "MRPC a"),
                         Unit("MRPC", "c", "b", "MRPC c")], baselines={"RTE": 50.0, "MRPC": 50.0})
    assert "3 of 4 runs of the better arm at the majority baseline" in r.left_out["RTE a"]
    assert [t.unit.label for t in r.tests] == ["RTE a", "MRPC a = MRPC c"]  # c's scores are a's: one comparison


def test_rates_test_and_its_exact_power():
    assert engine.fewer_events(0, 10, 5, 10) == pytest.approx(stats.boschloo_exact([[0, 10], [5, 5]],
                                                                                   alternative="less").pvalue)
    brute = 0.0
    for x in range(6):
        for y in range(6):
            if engine.fewer_events(x, 5, y, 5) < 0.05:
                brute += stats.binom.pmf(x, 5, 0.1) * stats.binom.pmf(y, 5, 0.6)
    assert engine.rates_power((0.1, 0.6), 5, 5) == pytest.approx(brute)


def test_rates_needed_is_where_the_exact_power_first_reaches_its_target():
    """The runs a rate claim needs at the rates seen: the n where rates_power crosses 0.8 (bisected, bounded by
    Cohen's h); none where the better arm's rate is not lower; Cohen's h alone past EXACT_RATES runs an arm."""
    n = engine.rates_needed((0.1, 0.6))
    assert engine.rates_power((0.1, 0.6), n - 1, n - 1) < 0.8 <= engine.rates_power((0.1, 0.6), n, n)
    assert n == 10
    assert engine.rates_needed((0.3, 0.3)) is None and engine.rates_needed((0.5, 0.2)) is None
    # 0.1 against 0.3: h = 2 asin(sqrt(.3)) - 2 asin(sqrt(.1)) = 0.5158; 2 (1.645 + 0.842)^2 / h^2 = 46.5
    assert engine.rates_needed((0.1, 0.3)) == 47 > engine.EXACT_RATES
    base = [70.0 + k for k in range(8)]
    worse = [50.0, 50, 50, 50] + base[4:]  # 4 of 8 at the baseline against none
    r = engine.evaluate("r", Shape("fewer_degenerate", "any"), scores_of({("T", "x"): base, ("T", "y"): worse}),
                        [Unit("T", "x", "y")], baselines={"T": 50.0})
    assert r.tests[0].rates == (0.0, 0.5) and r.need(0.01) == engine.Need(engine.rates_needed((0.0, 0.5), 0.01),
                                                                          "the effect seen")


def test_premise_absent_reads_could_not_tell():
    scores = scores_of({("para", "a"): [80, 81, 82, 83, 84], ("para", "b"): [70, 71, 72, 73, 74]})
    r = engine.evaluate("c", Shape("gain"), scores, [Unit("para", "a", "b")], premise="pool imbalance 1.2x < 10x")
    d = engine.decide([r])[0]
    assert d.verdict == COULD_NOT_TELL and "premise absent" in d.reason and "1.2x" in d.reason


def test_shape_rejects_a_bad_declaration():
    with pytest.raises(ValueError, match="kind 'gains' is not one of gain, no_gain"):
        Shape("gains")
    with pytest.raises(ValueError, match="needs a margin"):
        Shape("no_gain")
    with pytest.raises(ValueError, match=r"unknown claim shape key\(s\) \['tasks'\]"):
        Shape.from_yaml({"kind": "gain", "tasks": "all"})


def test_no_true_effect_keeps_false_reproduced_within_alpha_after_holm():
    """2,000 studies, each three gain claims over three tasks (pooled, at least one, all; 4 seeds, accuracy over 96 examples, a shared
    per-seed effect): with no true effect the share of studies with any claim "reproduced" after Holm stays within
    alpha + 3 Monte Carlo sd."""
    rng = np.random.default_rng(7)
    studies, hits = 2000, 0
    tasks = ("A", "B", "C")
    shapes = [Shape("gain", scope, paper_effect=2.0) for scope in ("pooled", "any", "all")]
    for _ in range(studies):
        rows = []
        for task in tasks:
            level = rng.uniform(0.6, 0.85)
            seed_effect = rng.normal(0, 0.03, size=4)
            for arm in ("x", "y", "z", "w"):
                p = np.clip(level + seed_effect + rng.normal(0, 0.02, size=4), 0, 1)
                correct = rng.binomial(96, p)
                rows += [(task, arm, i, 100 * c / 96) for i, c in enumerate(correct)]
        scores = engine.cells(engine.frame(rows))
        results = [engine.evaluate(f"c{k}", shapes[k], scores, [Unit(t, better, "w") for t in tasks],
                                   resolutions={t: 100 / 96 for t in tasks})
                   for k, better in enumerate(("x", "y", "z"))]
        hits += any(d.verdict == REPRODUCED for d in engine.decide(results))
    rate = hits / studies
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / studies)


def test_holm_equals_statsmodels():
    from statsmodels.stats.multitest import multipletests
    p = [0.01, 0.04, 0.03, 0.2, 0.005, 0.04]
    assert engine.holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))


def test_plan_lists_what_the_last_reports_undecided_claims_need(tmp_path):
    """`suite plan` reads the last report's summary.json: each undecided claim with its seeds and hours."""
    import json

    from reports.index import SUMMARY, claim_needs
    folder = tmp_path / "labelreg-cpu"
    folder.mkdir()
    assert claim_needs(tmp_path, "labelreg", "cpu") == ""  # no report yet: nothing to say
    (folder / SUMMARY).write_text(json.dumps({"claims": 9, "report": "labelreg-cpu/report.md", "undecided": [
        {"id": "ri_gain_tfreg", "pairs_needed": 14, "needed_basis": "the paper's effect", "hours_needed": 2.25},
        {"id": "ls_no_gain", "pairs_needed": 40, "needed_basis": "the effect seen", "hours_needed": None},
        {"id": "ri_gain_selfkd", "pairs_needed": 1001, "needed_basis": "the paper's effect", "hours_needed": 11.95},
        {"id": "ri_gain_kd", "pairs_needed": None, "needed_basis": "the effect seen on SST-5 is not the claimed way",
         "hours_needed": None},
        {"id": "table8", "pairs_needed": None, "hours_needed": None}]}))
    assert claim_needs(tmp_path, "labelreg", "cpu").splitlines() == [
        "claims undecided at the last report (labelreg-cpu/report.md), by the power rule at its Holm share:",
        "  ri_gain_tfreg: needs about 14 seeds a cell at the paper's effect (~2.2 trial-hours)",
        "  ls_no_gain: needs about 40 seeds a cell at the effect seen",
        "  ri_gain_selfkd: needs more than 1000 seeds a cell at the paper's effect (over 11.9 trial-hours)",
        "  ri_gain_kd: no seed count: the effect seen on SST-5 is not the claimed way",
        "  table8: no seed count: no signal here"]


def test_a_claim_significant_alone_but_not_after_holm_says_so():
    """Three claims, each 5 pairs all one way (p = 1/32) with power at the paper's effect: Holm makes each 3/32. The
    verdict is "could not tell" because of the correction, not for want of power or of a paper effect. At its Holm
    share (0.05 / 3) it needs 6 pairs: the fewest at which an exact sign-flip test can reach it (2^-6 < 0.0167)."""
    scores = scores_of({("T", "a"): [73.0, 74, 75, 76, 77], ("T", "b"): [70.0, 71, 72, 73, 74]})
    shape = Shape("gain", "all", paper_effect=3.0)
    results = [engine.evaluate(f"c{k}", shape, scores, [Unit("T", "a", "b")]) for k in range(3)]
    assert [r.p for r in results] == [1 / 32] * 3 and results[0].tests[0].power >= 0.8
    for d in engine.decide(results):
        assert d.verdict == COULD_NOT_TELL and d.p_adjusted == pytest.approx(3 / 32)
        assert d.reason == "significant alone, not after Holm's correction: p 0.0312 (Holm-adjusted over 3 claims: " \
                           "0.0938) over every task (intersection-union); needs about 6 pairs a task"
        assert (d.needed, d.needed_basis) == (6, "the paper's effect")


def test_equivalence_is_refuted_by_a_difference_either_way():
    """TOST within ±1 point: a loss of 3 points on every one of 6 seeds refutes "about the same" as a gain would;
    non-inferiority ("no better") is not refuted by a loss, it holds."""
    base = [70.0, 71, 69, 70, 72, 71]
    worse = scores_of({("para", "mt"): [v - 3 for v in base], ("para", "plain"): base})
    unit = [Unit("para", "mt", "plain")]
    same = engine.decide([engine.evaluate("c", Shape("no_gain", margin=1.0, equivalence=True), worse, unit)])[0]
    assert same.verdict == NOT_REPRODUCED and same.reason.startswith(
        "a difference significantly over ±1 point (Holm over tasks p")
    assert engine.evaluate("c", Shape("no_gain", margin=1.0, equivalence=True), worse, unit).gain_p == 2 / 64
    no_better = engine.decide([engine.evaluate("c", Shape("no_gain", margin=1.0), worse, unit)])[0]
    assert no_better.verdict == REPRODUCED and no_better.p == 1 / 64


def test_a_gain_inside_the_margin_does_not_refute_no_gain():
    """The margin is the claim's line between no gain and a gain: +0.3 on every one of 8 seeds is significant
    against zero (p 1/256) but inside a 1-point margin, so it refutes nothing. With the other task still unsure
    (SST-5-like: +0.5 +- 1.5) the claim reads "could not tell", not "not reproduced"; only a gain significantly over
    the margin (+2.5 on every seed) refutes it."""
    base = [70.0 + k for k in range(8)]
    small = [0.3, 0.4, 0.3, 0.2, 0.3, 0.4, 0.3, 0.2]
    unsure = [2.0, -1.0, 1.5, -0.5, 2.5, -1.0, 0.5, 0.0]
    units = [Unit("T", "x", "y"), Unit("U", "x", "y")]
    shape = Shape("no_gain", "all", margin=1.0)

    def claim(t_diffs):
        scores = scores_of({("T", "x"): [b + d for b, d in zip(base, t_diffs)], ("T", "y"): base,
                            ("U", "x"): [b + d for b, d in zip(base, unsure)], ("U", "y"): base})
        return engine.evaluate("c", shape, scores, units)

    inside = claim(small)
    assert engine.sign_flip(np.array(small), "greater") == 1 / 256 and inside.tests[0].other_way == 1.0
    d = engine.decide([inside])[0]
    assert d.verdict == COULD_NOT_TELL and d.reason.startswith("neither a gain over the margin nor a gain below 1 point")
    over = engine.decide([claim([2.5] * 8)])[0]
    assert over.verdict == NOT_REPRODUCED and over.reason.startswith(
        f"a gain significantly over 1 point (Holm over tasks p {2 / 256:.3g})")


def test_identical_comparisons_under_different_labels_count_once_on_the_same_data():
    """Figure 4's SDA(5) and SDV(5): two labels, one data set, the same scores: one comparison."""
    table = {("SDA5", "sd"): [80.0, 81, 82, 83], ("SDA5", "base"): [79.0, 80, 80, 81],
             ("SDV5", "sd"): [80.0, 81, 82, 83], ("SDV5", "base"): [79.0, 80, 80, 81]}
    on = [Unit("SDA5", "sd", "base", "SDA(5)", dataset="AG"), Unit("SDV5", "sd", "base", "SDV(5)", dataset="AG")]
    r = engine.evaluate("c", Shape("gain"), scores_of(table), on)
    assert [t.unit.label for t in r.tests] == ["SDA(5) = SDV(5)"]
    apart = [Unit("SDA5", "sd", "base", "SDA(5)", dataset="AG"), Unit("SDV5", "sd", "base", "SDV(5)", dataset="SST")]
    assert len(engine.evaluate("c", Shape("gain"), scores_of(table), apart).tests) == 2


def test_an_undecided_claim_says_the_trial_hours_its_seeds_need():
    """reports.comparisons.holm (selfdistill, minBERT): two trials a needed pair for each live comparison, at the
    report's hours per trial; a decided claim gets none."""
    from reports.comparisons import holm
    noisy = scores_of({("T", "kd"): [80.0, 70, 90], ("T", "ft"): [80.0, 80, 80],
                       ("U", "kd"): [80.0, 71, 90], ("U", "ft"): [80.0, 80, 81]})
    result = engine.evaluate("c", Shape("no_gain", "all", margin=1.0), noisy, [Unit("T", "kd", "ft"),
                                                                                 Unit("U", "kd", "ft")])
    clear = scores_of({("T", "kd"): [v + 5 for v in range(70, 78)], ("T", "ft"): list(range(70, 78))})
    decided = engine.evaluate("d", Shape("gain", "all", paper_effect=1.0), clear, [Unit("T", "kd", "ft")])
    out = holm([{"id": "c", "result": result}, {"id": "d", "result": decided}], [{"id": "c"}, {"id": "d"}], 0.25)
    assert out[0]["verdict"] == COULD_NOT_TELL and out[0]["pairs_needed"]
    assert out[0]["hours_needed"] == pytest.approx(0.25 * 2 * out[0]["pairs_needed"] * 2)
    assert f"(about {out[0]['hours_needed']:.1f} trial-hours at this profile)" in out[0]["reason"]
    assert out[1]["verdict"] == REPRODUCED and out[1]["pairs_needed"] is None and math.isnan(out[1]["hours_needed"])
    assert out[1]["hours_per_pair"] == pytest.approx(0.25 * 2)  # a pair's cost, which the sequential needs read
    assert math.isnan(holm([{"id": "c", "result": result}], [{"id": "c"}])[0]["hours_needed"])  # no finished trials
