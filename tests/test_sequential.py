"""Group-sequential verdicts (analysis/sequential.py): boundaries against published values and scipy's multivariate
normal, alpha spent, one look = the engine's fixed-sample verdict, group-sequential Holm, and simulated studies with
looks of 4, 8 and 16 pairs under no effect (false "reproduced" within alpha) and under the paper's effect (the
rates the design reports). Every p in the simulations is the engine's exact sign-flip p: the large ones count it
vectorised (checked equal to engine.sign_flip), one smaller one runs the engine itself. Pure statistics, seeded."""
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from analysis import engine, sequential
from analysis.claims import COULD_NOT_TELL, NOT_REPRODUCED, NOT_RUN, REPRODUCED
from analysis.engine import Result, Shape, Unit
from analysis.permutation import sign_vectors
from analysis.sequential import CONTINUE, Design

LOOKS = (4, 8, 16)


# ---------------------------------------------------------------- boundaries


@pytest.mark.parametrize("alpha, looks, published", [
    # gsDesign (Anderson), gsDesign(k=3, test.type=1, sfu=sfLDOF): one-sided 0.025, 3 equally spaced looks
    (0.025, (1, 2, 3), (3.7103, 2.5114, 1.9930)),
    # the same with k=5 (look 2: 3.35701 by scipy's bivariate normal, below)
    (0.025, (1, 2, 3, 4, 5), (4.8769, 3.3570, 2.6803, 2.2898, 2.0310)),
    # SeqBounds.jl README, bounds([0.25, 0.5, 0.75, 1], 0.05): one-sided 0.05, its grid h = 0.05 (~1e-4)
    (0.05, (1, 2, 3, 4), (3.74955, 2.53993, 2.01604, 1.72014)),
])
def test_obrien_fleming_boundaries_match_published_values(alpha, looks, published):
    design = Design(tuple(4 * n for n in looks), alpha=alpha)  # equally spaced: t_k = k / K
    assert design.efficacy_z == pytest.approx(published, abs=1.5e-4)


@pytest.mark.parametrize("design", [Design(LOOKS), Design((3, 6, 9, 12, 15), alpha=0.025),
                                    Design(LOOKS, spending="pocock"), Design((5, 7, 20), alpha=0.01)])
def test_boundaries_leave_the_spent_alpha_under_scipys_multivariate_normal(design):
    """P(Z_1 < c_1, ..., Z_k < c_k) = 1 - alpha spent by look k, the Z's jointly normal with corr sqrt(t_i / t_j):
    the recursion against scipy's Genz integration (seeded)."""
    t = np.asarray(design.fractions)
    corr = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    for k in range(1, len(t) + 1):
        stay = stats.multivariate_normal.cdf(np.asarray(design.efficacy_z[:k]), np.zeros(k), corr[:k, :k],
                                             maxpts=200_000 * k, abseps=1e-8, releps=1e-8, rng=3)
        assert stay == pytest.approx(1 - design.spent[k - 1], abs=2e-6)


def test_alpha_spent_is_alpha_and_the_first_look_spends_its_share_exactly():
    design = Design(LOOKS)
    assert design.spent[-1] == design.alpha == engine.ALPHA  # the engine's one-sided 0.05
    assert design.efficacy_p[0] == design.spent[0] == pytest.approx(2 * stats.norm.sf(stats.norm.isf(0.025) / 0.5))
    assert np.all(np.diff((0,) + design.spent) > 0) and np.all(np.diff(design.efficacy_z) < 0)
    # crossing probabilities under no effect add up to alpha where the sign-flip test can reach every threshold
    wide = Design((20, 40, 60))
    assert wide.chances(0.0).power == pytest.approx(wide.alpha, abs=1e-7)
    # Pocock-type spending (Lan & DeMets 1983): alpha ln(1 + (e - 1) t), nearly flat boundaries
    pocock = Design(LOOKS, spending="pocock")
    assert pocock.spent[0] == pytest.approx(0.05 * math.log(1 + (math.e - 1) / 4))
    assert max(pocock.efficacy_z) - min(pocock.efficacy_z) < 0.4


def test_one_look_is_the_fixed_sample_test_and_its_power_the_engines():
    for n in (5, 8, 16, 30):
        one = Design((n,))
        assert one.efficacy_p == (engine.ALPHA,) and one.efficacy_z[0] == pytest.approx(stats.norm.isf(0.05))
        for delta in (0.3, 0.7, 1.2):
            assert one.chances(delta).power == pytest.approx(engine.power(delta * 2.0, 2.0, n), abs=1e-9)
    assert Design((4,)).chances(5.0).power == 0.0 == engine.power(10.0, 2.0, 4)  # 2^-4 > 0.05: out of reach


def test_futility_spends_at_most_one_minus_power_and_only_where_the_design_is_powered():
    design = Design(LOOKS)
    assert all(math.isnan(p) for p in design.futility_p(0.5))  # power 0.60 < 0.8: no "not reproduced"
    assert all(math.isnan(p) for p in design.futility_p(None))
    for delta in (0.75, 0.9, 1.2):
        chances = design.chances(delta)
        assert chances.power >= design.power
        assert chances.not_reproduced <= 1 - design.power + 1e-9
        assert chances.reproduced + chances.not_reproduced == pytest.approx(1, abs=1e-6)  # the bounds meet at the end
        line = design.futility_p(delta)
        assert line[-1] == design.efficacy_p[-1] and line[0] > line[1]  # early looks stop only on a clear miss
    # non-binding: the efficacy boundaries are the same whatever the futility bound
    assert Design(LOOKS, power=0.9).efficacy_z == design.efficacy_z
    assert 1 < design.inflation() < 1.05


# ---------------------------------------------------------------- claims


def sd_of(low: float, high: float, n: int) -> float:
    """The paired differences' sd behind a 95% t interval of their mean over n pairs (half-width t sd / sqrt(n))."""
    return (high - low) / (2 * stats.t.ppf(0.975, n - 1)) * math.sqrt(n)


def result(claim, p, *, task="t", kind="gain", effect=None, tests=None, exploratory=False, other_way=1.0):
    shape = Shape(kind, "all", paper_effect=effect, exploratory=exploratory, margin=1.0 if kind == "no_gain" else None)
    if tests is None:
        tests = (engine.Test(Unit(task, "a", "b"), p, 1.0, 0.0, 2.0, 16, math.nan, other_way=other_way,
                             sd=sd_of(0.0, 2.0, 16)),)
    return Result(claim, shape, tuple(tests), p)


def test_group_sequential_holm_recycles_a_rejected_claims_alpha_within_the_look_and_after():
    design = Design(LOOKS)
    half = design.at(0.025).efficacy_p
    # look 2: A crosses at its share alpha/2; B (between alpha/2's and alpha's boundary) then crosses at alpha
    b = (half[1] + design.efficacy_p[1]) / 2
    out = sequential.decide(design, [[result("A", 0.5), result("B", 0.5)],
                                     [result("A", half[1] / 2), result("B", b)]])
    assert [v.verdict for v in out] == [REPRODUCED, REPRODUCED]
    assert out[0].level == 0.025 and out[1].level == 0.05 and out[1].thresholds[-1] == design.efficacy_p[1]
    # without A's rejection B holds alpha/2 and goes on; B's seeds: the next look's 16 pairs in its two cells
    held = sequential.decide(design, [[result("A", 0.5), result("B", 0.5)], [result("A", 0.5), result("B", b)]])
    assert held[1].verdict == CONTINUE and held[1].level == 0.025
    assert held[1].next_pairs == 16 and held[1].cells == (("t", "a"), ("t", "b"))
    # an exploratory claim keeps its own alpha and stays out of the family
    alone = sequential.decide(design, [[result("A", 0.5), result("E", 0.5, exploratory=True)],
                                       [result("A", 0.5), result("E", b, exploratory=True)]])
    assert alone[1].verdict == REPRODUCED and alone[0].level == 0.05


def test_a_claim_a_partial_look_held_back_keeps_its_pairs_and_meets_the_later_threshold():
    """A partial look 2 grows A, not H: H's p is the same at both looks (its data did not grow). Above look 1's
    threshold and below look 2's, it crosses at look 2, and its row and reason give the 4 pairs it has."""
    design = Design(LOOKS)
    p = (design.efficacy_p[0] + design.efficacy_p[1]) / 2
    out = sequential.decide(design, [[result("A", 0.5), result("H", p, exploratory=True)],
                                     [result("A", 0.5), result("H", p, exploratory=True)]],
                            held=lambda claim, k: 4 if claim == "H" else LOOKS[k])
    assert (out[1].verdict, out[1].look, out[1].pairs) == (REPRODUCED, 2, 4) and out[1].p == (p, p)
    assert out[1].reason.startswith("crossed at look 2 (4 pairs)")
    assert (out[0].verdict, out[0].pairs) == (CONTINUE, 8)


def test_a_spent_budget_says_could_not_tell_with_the_next_looks_pairs():
    design = Design(LOOKS)
    v = sequential.verdict(design, [result("A", 0.2)], budget_left=False)
    assert v.verdict == COULD_NOT_TELL and v.next_pairs == 8 and v.pairs == 4 and "budget ended" in v.reason
    v = sequential.verdict(design, [result("A", 0.2)])
    assert v.verdict == CONTINUE and v.look == 1 and v.p == (0.2,)
    with pytest.raises(ValueError, match="4 looks given"):
        sequential.decide(design, [[result("A", 0.2)]] * 4)
    with pytest.raises(ValueError, match="increasing"):
        Design((8, 4))


def test_the_seeds_an_undecided_claim_needs_are_read_at_its_holm_share():
    """A claim left undecided by the last look needs its pairs at the alpha it is tested at (its Holm share), not the
    family's: engine.pairs_needed at that share, times the design's inflation there. At ALPHA it is the engine's."""
    rng = np.random.default_rng(7)
    d = rng.normal(0.2, 1.0, 8)
    test = engine.mean_test(Unit("t", "a", "b"), 70 + d, np.full(8, 70.0), Shape("gain", "all", paper_effect=0.5))
    assert test.needed_at(engine.ALPHA) == test.needed == engine.pairs_needed(0.5, test.sd)
    assert test.needed_at(engine.ALPHA / 4) > test.needed  # a quarter of alpha asks for more pairs
    design = Design(LOOKS)
    claims = [Result(c, Shape("gain", "all", paper_effect=0.5), (test,), 0.3) for c in "ABCD"]
    out = sequential.decide(design, [claims] * 3)
    assert [v.verdict for v in out] == [COULD_NOT_TELL] * 4 and out[0].level == engine.ALPHA / 4
    share = design.at(engine.ALPHA / 4)
    assert out[0].needed == math.ceil(test.needed_at(engine.ALPHA / 4) * share.inflation())
    alone = sequential.decide(design, [[claims[0]]] * 3)[0]  # a family of one: the whole alpha
    assert alone.needed == math.ceil(test.needed * design.inflation()) < out[0].needed
    # a claim the budget stopped early says the same
    assert sequential.decide(design, [claims], budget_left=False)[0].needed == out[0].needed
    assert out[0].needed_basis == "the paper's effect"
    # without a paper effect: the effect seen, at the same share and inflation (engine.Result.need)
    bare = engine.mean_test(Unit("t", "a", "b"), 70 + d, np.full(8, 70.0), Shape("gain", "all"))
    seen = sequential.decide(design, [[Result(c, Shape("gain", "all"), (bare,), 0.3) for c in "ABCD"]] * 3)[0]
    assert (seen.needed, seen.needed_basis) == (
        math.ceil(engine.pairs_needed(d.mean(), test.sd, engine.ALPHA / 4) * share.inflation()), "the effect seen")
    # seen the other way: the pairs that would refute it, read at the design's alpha (the other-way test's level,
    # one comparison here), not at the Holm share, and inflated there
    back = engine.mean_test(Unit("t", "a", "b"), 70 - d, np.full(8, 70.0), Shape("gain", "all"))
    lost = sequential.decide(design, [[Result(c, Shape("gain", "all"), (back,), 0.9) for c in "ABCD"]] * 3)[0]
    assert (lost.needed, lost.needed_basis) == (
        math.ceil(engine.pairs_needed(d.mean(), back.sd) * design.inflation()), "the effect seen, to refute it on t")


def test_futility_reads_the_spread_the_engines_power_rule_reads():
    """Every seed 2 points the claimed way, on a 1-point resolution: the seeds' sd is 0, the engine's is one
    resolution step (Test.sd). The futility bound reads the same 1.0, not a spread of nothing that would make any
    paper effect look infinitely powered."""
    shape = Shape("gain", "all", paper_effect=3.0)
    test = engine.mean_test(Unit("t", "a", "b"), np.full(6, 72.0), np.full(6, 70.0), shape, resolution=1.0)
    assert test.sd == 1.0 and test.low == test.high == 2.0
    assert sequential.effect_size(test, shape) == 3.0  # the paper's 3 points over one step
    upper = math.sqrt(5 / stats.chi2.ppf(1 - sequential.INTERIM_SD, 5))
    assert sequential.effect_size(test, shape, upper=sequential.INTERIM_SD) == pytest.approx(3.0 / upper)


def test_a_powered_claim_stops_for_futility_and_an_underpowered_one_cannot():
    design = Design(LOOKS)
    # the unit's interval gives sd 1.0 at 4 pairs: half-width t_{0.975,3} / 2
    half = stats.t.ppf(0.975, 3) / 2

    def unit(p, effect):
        test = engine.Test(Unit("t", "a", "b"), p, -0.5, -0.5 - half, -0.5 + half, 4, math.nan, other_way=0.3,
                           sd=sd_of(-0.5 - half, -0.5 + half, 4))
        return result("A", p, effect=effect, tests=(test,))

    assert sequential.effect_size(unit(0.9, 1.2).tests[0], unit(0.9, 1.2).shape) == pytest.approx(1.2)
    line = design.futility_p(1.2)[0]
    stop = sequential.verdict(design, [unit(max(line, 0.9), 1.2)])
    assert stop.verdict == NOT_REPRODUCED and "futility" in stop.reason and stop.look == 1
    assert sequential.verdict(design, [unit(0.99, 0.5)]).verdict == CONTINUE  # power 0.6 at the paper's effect


def study(rng, n, effect, tasks=("A", "B"), resolution=100 / 277):
    """A score index (engine.cells form) of arms x, y on ``tasks``: y around 70, x = y + effect + noise."""
    out = {}
    for task in tasks:
        base = 70 + rng.normal(0, 2, n)
        out[(task, "y")] = dict(enumerate(engine.on_resolution(base, resolution)))
        out[(task, "x")] = dict(enumerate(engine.on_resolution(base + effect + rng.normal(0, 1.5, n), resolution)))
    return out


def test_one_look_gives_the_engines_verdicts_holm_included():
    """20 families of four claims (gain over all tasks, pooled, at least one; no gain) on random data, one look:
    the sequential verdicts are the engine's."""
    rng = np.random.default_rng(11)
    units = [Unit("A", "x", "y"), Unit("B", "x", "y")]
    res = {"A": 100 / 277, "B": 100 / 277}
    seen = set()
    for _ in range(20):
        n = int(rng.choice([6, 10, 16]))
        scores = study(rng, n, float(rng.choice([0.0, 0.8, 2.0, -1.5])))
        shapes = [Shape("gain", "all", paper_effect=float(rng.choice([0.8, 2.5]))),
                  Shape("gain", "pooled", paper_effect=2.0), Shape("gain", "any", paper_effect=3.0),
                  Shape("no_gain", "all", margin=1.5)]
        results = [engine.evaluate(f"c{i}", s, scores, units, resolutions=res) for i, s in enumerate(shapes)]
        fixed = [d.verdict for d in engine.decide(results)]
        ours = [v.verdict for v in sequential.decide(Design((n,)), [results])]
        assert ours == fixed
        seen |= set(fixed)
    assert {REPRODUCED, NOT_REPRODUCED, COULD_NOT_TELL} <= seen


def test_premise_and_unrun_claims_read_as_the_engine_reads_them():
    design = Design(LOOKS)
    premise = Result("P", Shape("gain"), (), math.nan, premise="pools 1.2x")
    assert sequential.verdict(design, [premise]).verdict == COULD_NOT_TELL
    unrun = engine.evaluate("U", Shape("gain"), {}, [Unit("A", "x", "y")])
    assert sequential.verdict(design, [unrun] * 3).verdict == NOT_RUN
    assert sequential.verdict(design, [unrun]).verdict == CONTINUE


def test_first_pairs_keeps_each_tasks_first_seeds():
    frame = engine.frame([("A", arm, seed, 70.0 + seed) for arm in ("x", "y") for seed in (3, 0, 10, 2)]
                         + [("B", "x", 5, 1.0), ("B", "y", 5, 2.0)])
    kept = sequential.first_pairs(frame, 2)
    assert sorted(kept[kept.task == "A"].pair.unique()) == [0, 2] and len(kept[kept.task == "B"]) == 2


# ---------------------------------------------------------------- simulated studies


def exact_p(d: np.ndarray) -> np.ndarray:
    """engine.sign_flip(row, "greater") for every row of ``d`` (n <= EXACT_PAIRS pairs): the 2^n signed sums split
    into two halves' sums and counted by sorting, with the engine's float slack."""
    sims, n = d.shape
    h = n // 2
    first = sign_vectors(h, engine.SEED)[0].astype(float) @ d[:, :h].T
    second = np.sort(sign_vectors(n - h, engine.SEED)[0].astype(float) @ d[:, h:].T, axis=0)
    observed = d.mean(axis=1)
    line = n * (observed - 1e-9 * np.maximum(1.0, np.abs(observed)))
    hits = [second.shape[0] * first.shape[0] - np.searchsorted(second[:, j], line[j] - first[:, j]).sum()
            for j in range(sims)]
    return np.asarray(hits, float) / 2 ** n


def run_looks(design: Design, d: np.ndarray, delta: float | None) -> dict:
    """Each simulated study's verdict under the design's rule at a known standardized effect: efficacy when
    p < the look's threshold, futility when p >= its futility bound."""
    p = np.stack([exact_p(d[:, :n]) for n in design.looks], axis=1)
    efficacy, futility = np.asarray(design.efficacy_p), np.asarray(design.futility_p(delta))
    state = np.zeros(len(d), int)  # 0 open, 1 reproduced, 2 not reproduced
    for k in range(len(design.looks)):
        open_ = state == 0
        state[open_ & (p[:, k] < efficacy[k])] = 1
        state[(state == 0) & open_ & (p[:, k] >= futility[k])] = 2
    return {"alone": float((p < efficacy).any(axis=1).mean()), "reproduced": float((state == 1).mean()),
            "not": float((state == 2).mean()), "p": p}


def mc_se(rate: float, sims: int) -> float:
    return math.sqrt(rate * (1 - rate) / sims)


def test_the_vectorised_p_is_the_engines_sign_flip():
    rng = np.random.default_rng(5)
    for d in (rng.normal(0.3, 1, (12, 16)), (100 / 277) * rng.integers(-3, 4, (12, 9)).astype(float)):
        assert exact_p(d) == pytest.approx([engine.sign_flip(row) for row in d], abs=1e-12)


@pytest.mark.parametrize("name, draw", [
    ("normal", lambda rng, s: rng.normal(0, 1, (s, 16))),
    # an accuracy over 277 examples (RTE dev): differences of whole examples, many ties and zeros
    ("discrete", lambda rng, s: (100 / 277) * (rng.binomial(6, 0.5, (s, 16)) - rng.binomial(6, 0.5, (s, 16)))),
])
def test_no_true_effect_keeps_false_reproduced_within_alpha_over_the_looks(name, draw):
    """4,000 studies with looks of 4, 8 and 16 pairs and no effect: the share reproduced at any look, futility
    ignored (non-binding: a driver may run past it), stays within alpha + 3 Monte Carlo sd."""
    design, sims = Design(LOOKS), 4000
    out = run_looks(design, draw(np.random.default_rng(2028), sims).astype(float), None)
    assert out["alone"] <= design.alpha + 3 * mc_se(design.alpha, sims)
    assert out["alone"] > design.alpha / 2  # and is not wasted: the boundaries spend nearly all of it


@pytest.mark.parametrize("delta", [0.65, 0.8])
def test_the_paper_effect_gives_the_rates_the_design_reports(delta):
    """4,000 studies at the paper's effect (sd known): reproduced (futility obeyed), not reproduced, and reproduced
    with futility ignored, each within 3 Monte Carlo sd of the design's chances. 0.65 is below 80% power: no
    futility stop, so nothing reads "not reproduced"."""
    design, sims = Design(LOOKS), 4000
    want = design.chances(delta)
    out = run_looks(design, np.random.default_rng(31).normal(delta, 1, (sims, 16)), delta)
    assert out["reproduced"] == pytest.approx(want.reproduced, abs=3 * mc_se(want.reproduced, sims))
    assert out["alone"] == pytest.approx(want.power, abs=3 * mc_se(want.power, sims))
    assert out["not"] == pytest.approx(want.not_reproduced, abs=3 * mc_se(max(want.not_reproduced, 1e-3), sims))
    assert out["not"] <= 1 - design.power + 3 * mc_se(1 - design.power, sims)
    assert (want.not_reproduced > 0) == (want.power >= design.power)


def test_futility_on_the_observed_spread_errs_no_more_than_the_power_rule_allows():
    """2,000 studies at the paper's effect (1.5 sd), the sd estimated at each look as `decide` reads it (its 80%
    upper confidence bound before the last look; the standardized effect rounded to 0.05 here, to reuse the
    bounds): "not reproduced" stays within 1 - POWER + 3 sd. With the plug-in sd it did not (0.24: 4 pairs whose
    spread looks small by chance stop at look 1)."""
    design, sims, effect = Design(LOOKS), 2000, 1.5
    d = np.random.default_rng(17).normal(effect, 1, (sims, 16))
    p = np.stack([exact_p(d[:, :n]) for n in design.looks], axis=1)
    state = np.zeros(sims, int)
    for k, n in enumerate(design.looks):
        sd = d[:, :n].std(axis=1, ddof=1)
        if k < len(design.looks) - 1:
            sd = sd * np.sqrt((n - 1) / stats.chi2.ppf(1 - sequential.INTERIM_SD, n - 1))
        sizes = np.round(effect / sd / 0.05) * 0.05
        line = np.array([design.futility_p(float(x))[k] for x in sizes])
        open_ = state == 0
        state[open_ & (p[:, k] < design.efficacy_p[k])] = 1
        state[(state == 0) & open_ & (p[:, k] >= line)] = 2
    assert (state == 2).mean() <= 1 - design.power + 3 * mc_se(1 - design.power, sims)
    assert (state == 1).mean() >= design.chances(effect).reproduced - 3 * mc_se(0.93, sims)


def test_the_engine_itself_through_the_looks():
    """50 studies through engine.evaluate and sequential.decide, a gain claim with the paper's effect given, looks
    of 4, 8 and 16 pairs: each look's p is the vectorised one; with no effect the claim is not reproduced beyond
    alpha + 3 sd; at the paper's effect it is reproduced about as often as the design says (the sd is estimated at
    each look, so between the futility-obeyed and the futility-free rate, 3 sd either side)."""
    design, sims = Design(LOOKS), 50
    units, res = [Unit("A", "x", "y")], {"A": 0.01}
    shape = Shape("gain", "all", paper_effect=1.0)
    rng = np.random.default_rng(4)
    rates = {}
    for effect in (0.0, 1.0):
        verdicts = []
        for s in range(sims):
            d = engine.on_resolution(rng.normal(effect, 1, 16), 0.01)
            looks = []
            for n in design.looks:  # as a driver would: the next look only while the claim is undecided
                looks.append([engine.evaluate("c", shape, {("A", "x"): dict(enumerate(70.0 + d[:n])),
                                                           ("A", "y"): dict(enumerate(np.full(n, 70.0)))}, units,
                                              resolutions=res)])
                assert looks[-1][0].p == pytest.approx(exact_p(d[None, :n])[0], abs=1e-12)
                v = sequential.decide(design, looks, budget_left=True)[0]
                if v.verdict != CONTINUE:
                    break
            assert v.pairs == n and v.p == tuple(look[0].p for look in looks)
            verdicts.append(v)
        assert {v.verdict for v in verdicts} <= {REPRODUCED, NOT_REPRODUCED, COULD_NOT_TELL}
        rates[effect] = float(np.mean([v.verdict == REPRODUCED for v in verdicts]))
    assert rates[0.0] <= design.alpha + 3 * mc_se(design.alpha, sims)
    want = design.chances(1.0)
    assert want.reproduced - 3 * mc_se(want.reproduced, sims) <= rates[1.0] <= want.power + 3 * mc_se(want.power, sims)


def test_futility_reads_the_pairs_a_comparison_has_not_the_cells_seeds():
    """Xu et al.'s VOTE(4) makes one pair of 4 seeds: at 16 seeds a cell it has 4 pairs. Its futility bound must
    read the power of 4 pairs (none at a paper effect of 0.9 sd: no "not reproduced" without power), not of 16."""
    design = Design(looks=(8, 16))
    assert design.at_pairs(16, 1) is design
    small = design.at_pairs(4, 1)
    assert small.looks == (2, 4) and small.fractions == design.fractions
    assert math.isfinite(design.futility_p(0.9)[1]) and math.isnan(small.futility_p(0.9)[1])


def test_no_futility_stop_where_the_exact_test_cannot_reach_the_bound():
    """Looks 5, 10, 20. At a paper effect of 3 sd, look 1's futility threshold fell under 1/32, the smallest p that 5
    pairs give, so it stopped every claim there whatever its data: the meanteacher Para-only claim, 5 of 5 pairs
    the claimed way (+3.07 [+1.16, +4.97] against the paper's +7.7), read "not reproduced". That look has no futility
    stop now; at 1.5 sd its threshold (0.19) stands, as does look 2's at 3 sd (over 1/1024)."""
    design = Design(looks=(5, 10, 20))
    assert math.isnan(design.futility_p(3.0)[0]) and engine.floor(10) < design.futility_p(3.0)[1] < 0.01
    assert design.futility_p(1.5)[0] == pytest.approx(0.194, abs=0.001)
    test = engine.Test(Unit("para", "a", "b"), 1 / 32, 3.07, 1.16, 4.97, 5, 0.99, other_way=1.0,
                       sd=sd_of(1.16, 4.97, 5))
    assert sequential.verdict(design, [result("P", 1 / 32, effect=7.7, tests=(test,))]).verdict == CONTINUE


def test_tied_pairs_raise_the_floor_under_which_a_futility_bound_is_dropped():
    """Look 2 of 5, 10, 20 at the paper's effect of 7 points: its threshold lies between 1/1024 (10 pairs) and 1/64.
    With 4 of the 10 pairs tied, the exact test gives no p under 2^-6 = 1/64 (engine.mean_test's Test.floor), so
    the bound would stop the claim whatever its data: it has none there, and the claim continues."""
    design = Design(looks=(5, 10, 20))
    first = engine.Test(Unit("para", "a", "b"), 1 / 32, 3.0, 1.9, 4.1, 5, 0.99, other_way=1.0,
                        sd=sd_of(1.9, 4.1, 5))
    d = np.array([3.0, 4, 3, 5, 3, 4, 0, 0, 0, 0])
    tied = engine.mean_test(Unit("para", "a", "b"), 70 + d, np.full(10, 70.0), Shape("gain", "all", paper_effect=7.0))
    assert tied.p == tied.floor == 1 / 64 and engine.floor(10) < tied.floor
    size = sequential.effect_size(tied, Shape("gain", "all", paper_effect=7.0), sequential.INTERIM_SD)
    assert engine.floor(10) < design.futility_p(size)[1] <= tied.floor  # a bound no outcome could pass
    looks = [[result("P", 1 / 32, effect=7.0, tests=(first,))], [result("P", tied.p, effect=7.0, tests=(tied,))]]
    assert sequential.decide(design, looks)[0].verdict == CONTINUE
    untied = replace(tied, floor=engine.floor(10))  # as before: 10 pairs' floor, the bound stands and stops it
    looks[1] = [result("P", tied.p, effect=7.0, tests=(untied,))]
    assert sequential.decide(design, looks)[0].verdict == NOT_REPRODUCED
