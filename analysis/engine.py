"""The claims engine: a claim declares its shape (kind, scope over tasks, margin, the paper's effect, a premise) and
the shape picks the test (DESIGN.md "Claims"). Pure functions over one score frame: one row per run with columns
``task, arm, pair, value`` (and optionally ``status``), where ``pair`` joins the runs of two arms that share a seed.

- Scores are compared on the metric's own resolution (``resolutions``: task -> the step between attainable
  values, e.g. 100 / n for an accuracy in points over n test examples), so float noise never breaks a true tie.
- Paired tests are exact sign-flip permutation tests of the mean difference (enumerated up to EXACT_PAIRS pairs,
  Monte Carlo with a fixed seed beyond): ties and zero differences need no special rule.
- Scope: "all" / "each" by intersection-union (every task significant: p = the largest per-task p); "pooled" by
  one stratified sign-flip test of the tasks' mean differences; "any" (at least one task) by Fisher's method.
- no_gain: per-task non-inferiority (the gain is below the margin) or, with ``equivalence``, TOST; "all" by
  intersection-union. Rates: Boschloo's exact test. Spread: the sign-flip test on paired absolute deviations from
  each arm's median (Brown-Forsythe). Worst case: a within-pair swap permutation test of the minima.
- The power rule: a non-significant result reads "not reproduced" only when the test had at least POWER to see the
  paper's effect at the observed spread (the noncentral t of a one-sample t-test; zero where 2^-n cannot reach
  alpha); otherwise "could not tell", with the pairs it would need.
- A task where most runs of an arm sit at the majority baseline carries no signal for a mean claim; comparisons
  with identical score vectors count once; Holm's correction runs across a report's confirmatory claims (`decide`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from analysis.claims import COULD_NOT_TELL, NOT_REPRODUCED, NOT_RUN, REPRODUCED
from analysis.permutation import EXACT_PAIRS, RESAMPLES, sign_vectors, tail_p

ALPHA, POWER = 0.05, 0.8
MOST_PAIRS = 1000  # pairs_needed looks no further: MOST_PAIRS + 1 reads "more than MOST_PAIRS"
SEED = 2021
KINDS = ("gain", "no_gain", "ordering", "lower_spread", "fewer_degenerate", "better_worst")
SCOPES = ("each", "all", "pooled", "any")
MEAN_KINDS = ("gain", "no_gain", "ordering")


@dataclass(frozen=True)
class Shape:
    """What a claim says, as reports/published/<paper>.yaml declares it (``shape:``)."""
    kind: str  # one of KINDS
    scope: str = "all"  # one of SCOPES: over the claim's tasks
    margin: float | None = None  # no_gain: the largest difference, in points, that counts as none
    equivalence: bool = False  # no_gain: |difference| < margin (TOST) rather than difference < margin
    paper_effect: float | tuple | None = None  # the paper's own effect, in points (gain: mean difference), one for
    # every task or ((task, effect), ...) per task; fewer_degenerate takes the paper's rates (``paper_rates``)
    paper_rates: tuple | None = None  # fewer_degenerate: (rate of the better arm, rate of the worse), from the paper
    exploratory: bool = False  # a claim the suite adds beyond the paper: not in Holm's family

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"claim kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.scope not in SCOPES:
            raise ValueError(f"claim scope {self.scope!r} is not one of {', '.join(SCOPES)}")
        if self.kind == "no_gain" and not (self.margin and self.margin > 0):
            raise ValueError("a no_gain claim needs a margin > 0 (points): the largest difference that counts as none")

    def effect(self, task: str) -> float | None:
        """The paper's effect on ``task`` (None: the paper gives none there)."""
        if isinstance(self.paper_effect, tuple):
            return dict(self.paper_effect).get(task)
        return self.paper_effect

    @classmethod
    def from_yaml(cls, data: dict) -> "Shape":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown claim shape key(s) {sorted(unknown)}; valid: {sorted(known)}")
        data = dict(data)
        if isinstance(data.get("paper_effect"), dict):
            data["paper_effect"] = tuple(sorted(data["paper_effect"].items()))
        if data.get("paper_rates") is not None:
            data["paper_rates"] = tuple(data["paper_rates"])
        return cls(**data)


@dataclass(frozen=True)
class Unit:
    """One comparison the claim makes: ``better`` against ``worse`` on one task (the claim's label for it)."""
    task: str
    better: str
    worse: str
    label: str = ""
    stand_in: str | None = None  # "AG-proxy for AG": the dataset that replaces the paper's here
    dataset: str = ""  # the data the two arms were scored on, where ``task`` is only a label (default: ``task``)


@dataclass(frozen=True)
class Test:
    """One unit's test: its p (in the claimed direction), effect with a 95% interval, pairs, and power."""
    unit: Unit
    p: float
    effect: float  # mean paired difference better - worse, in points (spread: sd ratio worse/better; rates: count
    # difference; worst case: difference of minima)
    low: float
    high: float
    pairs: int
    power: float  # at the paper's effect (NaN: the paper gives none)
    other_way: float = float("nan")  # p in the opposite direction (gain kinds)
    reason: str | None = None  # why the unit carries no signal (then p is NaN)
    sd: float = float("nan")  # the paired differences' sd the power rule reads (mean kinds)
    against: float | None = None  # the effect it is powered against: the paper's, or a no-gain claim's margin
    target: float = POWER  # the power it asks for (TOST: (1 + POWER) / 2 a side)
    floor: float = 0.0  # the smallest p its exact test can give: sign-flip, 2^-(pairs that differ), so tied pairs
    # raise it above engine.floor(pairs); a futility bound at or under it could not be passed (analysis.sequential)
    seen: float = float("nan")  # the effect seen, as far as it goes the claimed way (gain: the mean difference;
    # no-gain: the room left under the margin; spread: the mean paired deviation gap; rates: the worse arm's rate
    # minus the better's), for `Need` once the paper's effect is powered or where the paper gives none
    rates: tuple | None = None  # rates: the degenerate rates seen (better arm's, worse arm's), for `rates_needed`

    @property
    def needed(self) -> int | None:
        """Pairs for POWER at ALPHA at the effect it is powered against (None: no such effect, or no signal)."""
        return self.needed_at(ALPHA)

    def needed_at(self, alpha: float) -> int | None:
        """`needed` at another level (a claim's Holm share); None where the power rule has no effect to read."""
        return pairs_needed(self.against, self.sd, alpha, self.target) if self.reason is None else None

    def seen_needed_at(self, alpha: float) -> int | None:
        """Pairs for POWER at ``alpha`` were the effect seen the true one (rates: runs an arm at the rates seen); None
        where it is not the claimed way or the test has no spread to read (worst case)."""
        if self.reason is not None or not (self.seen > 0):
            return None
        if self.rates is not None:
            return rates_needed(self.rates, alpha, self.target)
        return pairs_needed(self.seen, self.sd, alpha, self.target)


@dataclass(frozen=True)
class Need:
    """The pairs a task an undecided claim asks for and what they are powered against (``basis``: "the paper's
    effect", "the margin", "the effect seen", or "the effect seen, to refute it on <task>"); ``pairs`` None:
    ``basis`` says why there is no count. ``level``: the alpha the count was read at where it is not the claim's
    own (a refutation reads the family's alpha over the comparisons, as `_decide`)."""
    pairs: int | None
    basis: str
    level: float | None = None


@dataclass(frozen=True)
class Result:
    """A claim's tests and its combined p before Holm; `decide` turns it into a verdict."""
    claim: str
    shape: Shape
    tests: tuple
    p: float  # the claim's p for its hypothesis (scope-combined)
    left_out: dict = field(default_factory=dict)  # unit label -> why it carries no signal
    premise: str | None = None  # why the claim's premise is absent at this profile
    gain_p: float = float("nan")  # no_gain: the Holm-over-tasks p of a gain over the margin (equivalence: of a
    # difference beyond it either way), which refutes the claim when significant

    @property
    def needed(self) -> int | None:
        """Pairs a task the power rule asks of the claim (fixed sample): its most demanding live comparison's; None
        where no comparison gives one."""
        needed = [t.needed for t in self.tests if t.reason is None and t.needed is not None]
        return max(needed) if needed else None

    def needed_at(self, alpha: float) -> int | None:
        """`need`'s pairs at ``alpha``."""
        return self.need(alpha).pairs

    def need(self, alpha: float, family_alpha: float = ALPHA) -> Need:
        """The pairs a task that would decide the claim at ``alpha`` (a Holm share), with 80% power: at the paper's
        effect (no-gain: at no true difference, within the margin) while some comparison lacks that power; once
        every comparison has it, or where the paper gives no effect, at the effect seen (a claim undecided with
        power for the paper's effect has a smaller true effect, if any). The most demanding comparison's count.
        Where the effect seen goes against the claim on some comparison, the pairs that would refute it were that
        effect the true one (`refuting`)."""
        live = [t for t in self.tests if t.reason is None]
        if not live:
            return Need(None, "no comparison carries a signal")
        paper = [(t, n) for t in live if (n := t.needed_at(alpha)) is not None]
        if any(n > t.pairs for t, n in paper):
            return Need(max(n for _, n in paper), "the margin" if self.shape.kind == "no_gain" else "the paper's effect")
        seen = [(t, t.seen_needed_at(alpha)) for t in live]
        lost = [t for t, n in seen if n is None]
        if not lost:
            return Need(max(n for _, n in seen), "the effect seen")
        if any(math.isnan(t.seen) for t in lost):
            return Need(None, "a worst-seed test has no power rule here")
        refute = self.refuting(family_alpha)
        if refute is not None:
            return refute
        names = ", ".join(t.unit.label or t.unit.task for t in lost)
        if self.shape.kind == "no_gain":
            return Need(None, f"the difference seen on {names} is at or over the margin")
        return Need(None, f"the effect seen on {names} is not the claimed way")

    def refuting(self, family_alpha: float = ALPHA) -> Need | None:
        """The fewest pairs a task at which, were the effect seen the true one, a comparison would refute the claim
        with POWER, as `_decide` refutes: one comparison the other way at ``family_alpha`` over the live ones (not
        for "any" scope), or for no_gain a gain significantly over the margin (equivalence: a difference beyond it
        either way, each side at half the level) by Holm's first step over them. None where no comparison goes against the claim."""
        live = [t for t in self.tests if t.reason is None]
        level = refute_share(family_alpha, len(live))
        counts = []
        for t in live:
            if self.shape.kind == "no_gain":
                m = self.shape.margin
                gap, at = (abs(t.effect) - m, level / 2) if self.shape.equivalence else (t.effect - m, level)
            elif self.shape.scope != "any" and self.shape.kind in (*MEAN_KINDS, "lower_spread"):
                gap, at = -t.seen, level
            else:
                continue
            if gap > 0 and (n := pairs_needed(gap, t.sd, at)) is not None:
                counts.append((n, t.unit.label or t.unit.task))
        if not counts:
            return None
        n, name = min(counts)
        return Need(n, f"the effect seen, to refute it on {name}", level)


@dataclass(frozen=True)
class Decision:
    claim: str
    verdict: str
    reason: str
    p: float
    p_adjusted: float
    effect: str  # "+1.2 [0.3, 2.1]" per unit
    pairs: str
    power: str
    exploratory: bool
    needed: int | None  # pairs a task the power rule asks for; None where the verdict does not ask for more pairs
    needed_basis: str = ""  # what ``needed`` is powered against, or why an undecided claim has no count (Need)


# ---------------------------------------------------------------- the score frame


def frame(rows) -> pd.DataFrame:
    """A score frame from (task, arm, pair, value) rows."""
    return pd.DataFrame(list(rows), columns=["task", "arm", "pair", "value"])


def on_resolution(values, resolution: float | None) -> np.ndarray:
    """Scores as whole multiples of the metric's resolution (an accuracy x 100 over n examples: 100 / n per
    example), so that equal counts are equal numbers; returned in points again. None: left as they are."""
    values = np.asarray(values, float)
    if not resolution:
        return values
    return np.rint(values / resolution) * resolution


def cells(scores: pd.DataFrame) -> dict:
    """{(task, arm): {pair: value}} of the finished runs with a score (the last row of a repeated pair wins)."""
    if "status" in scores:
        scores = scores[scores["status"].fillna("finished") == "finished"]
    out: dict = {}
    for task, arm, pair, value in scores[["task", "arm", "pair", "value"]].itertuples(index=False):
        if value == value:  # not NaN
            out.setdefault((task, arm), {})[pair] = float(value)
    return out


def paired(scores, task: str, better: str, worse: str, resolution: float | None = None):
    """The two arms' scores on ``task`` (a score frame or its `cells`), joined by pair id (pairs missing either
    side dropped), on the metric's resolution."""
    index = scores if isinstance(scores, dict) else cells(scores)
    a, b = index.get((task, better), {}), index.get((task, worse), {})
    shared = sorted(set(a) & set(b), key=str)
    return (on_resolution([a[k] for k in shared], resolution), on_resolution([b[k] for k in shared], resolution))


def arm_values(scores, task: str, arm: str) -> np.ndarray:
    index = scores if isinstance(scores, dict) else cells(scores)
    return np.array(list(index.get((task, arm), {}).values()), float)


# ---------------------------------------------------------------- exact tests


def sign_flip(d, alternative: str = "greater", seed: int = SEED) -> float:
    """Exact sign-flip permutation test that the mean of the paired differences ``d`` is > 0 (``greater``), < 0
    (``less``) or != 0: each pair's sign is flipped independently under H0. NaN without pairs."""
    d = np.asarray(d, float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return float("nan")
    signs, exact = sign_vectors(d.size, seed)
    return tail_p(signs @ d / d.size, d.mean(), alternative, exact)


def stratified_sign_flip(groups, alternative: str = "greater", seed: int = SEED) -> float:
    """One sign-flip test over several tasks' paired differences: the statistic is the mean over tasks of each
    task's mean difference (every task weighs the same), signs flipped within pairs. NaN without pairs."""
    groups = [np.asarray(g, float)[~np.isnan(np.asarray(g, float))] for g in groups]
    groups = [g for g in groups if g.size]
    if not groups:
        return float("nan")
    d = np.concatenate(groups)
    weights = np.concatenate([np.full(g.size, 1.0 / (g.size * len(groups))) for g in groups])
    signs, exact = sign_vectors(d.size, seed)
    return tail_p(signs @ (d * weights), float(np.sum(d * weights)), alternative, exact)


def swap_min(better, worse, seed: int = SEED) -> float:
    """Permutation test that min(better) > min(worse), the two arms paired: under H0 each pair's two scores are
    exchangeable, so every within-pair swap is as likely."""
    a, b = np.asarray(better, float), np.asarray(worse, float)
    if a.size == 0:
        return float("nan")
    signs, exact = sign_vectors(a.size, seed)
    keep = signs > 0
    a_perm, b_perm = np.where(keep, a, b), np.where(keep, b, a)
    null = a_perm.min(axis=1) - b_perm.min(axis=1)
    return tail_p(null, a.min() - b.min(), "greater", exact)


def fewer_events(events_better: int, n_better: int, events_worse: int, n_worse: int) -> float:
    """Boschloo's exact test that events (degenerate runs) are rarer in ``better`` (one-sided)."""
    if n_better == 0 or n_worse == 0:
        return float("nan")
    if events_better == events_worse == 0 or (events_better == n_better and events_worse == n_worse):
        return 1.0
    table = [[events_better, n_better - events_better], [events_worse, n_worse - events_worse]]
    return float(stats.boschloo_exact(table, alternative="less").pvalue)


def floor(n: int) -> float:
    """The smallest one-sided p a sign-flip test of n pairs reaches: every pair the same way."""
    return 2.0 ** -n if n <= EXACT_PAIRS else 1.0 / (RESAMPLES + 1)


# ---------------------------------------------------------------- effects, intervals, power


def interval(d) -> tuple[float, float]:
    """The 95% t interval of the mean of ``d`` (NaN below two values)."""
    d = np.asarray(d, float)
    if d.size < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    return float(d.mean() - half), float(d.mean() + half)


def _sd(d, resolution: float | None) -> float:
    """The differences' spread, at least one resolution step (no spread seen is not a spread of zero)."""
    d = np.asarray(d, float)
    sd = float(d.std(ddof=1)) if d.size >= 2 else float("nan")
    least = resolution or 1e-6
    return max(sd, least) if math.isfinite(sd) else sd


def _power_at(effect: float, sd: float, n: np.ndarray, alpha: float) -> np.ndarray:
    """The one-sided one-sample t-test's power at each n: 1 - F_nct(t_{1-alpha, n-1}; n-1, effect/sd x sqrt(n))."""
    n = np.asarray(n, float)
    df = n - 1
    out = stats.nct.sf(stats.t.ppf(1 - alpha, df), df, effect / sd * np.sqrt(n))
    return np.where(2.0 ** -np.minimum(n, 1074) >= alpha, 0.0, out)


def power(effect: float | None, sd: float, n: int, alpha: float = ALPHA) -> float:
    """Power of the one-sided paired test at ``n`` pairs to find a mean difference ``effect`` when the differences
    have spread ``sd``: the noncentral t of a one-sample t-test, and 0 where no outcome of the exact test could
    reach ``alpha`` (2^-n >= alpha). NaN without an effect or a spread."""
    if effect is None or not math.isfinite(sd) or n < 2:
        return float("nan")
    if effect <= 0:
        return 0.0
    return float(_power_at(effect, sd, np.array([n]), alpha)[0])


def pairs_needed(effect: float | None, sd: float, alpha: float = ALPHA, target: float = POWER,
                 most: int = MOST_PAIRS) -> int | None:
    """The fewest pairs at which `power` reaches ``target`` (None: no effect given; ``most`` + 1: beyond reach)."""
    if effect is None or effect <= 0 or not math.isfinite(sd):
        return None
    n = np.unique(np.concatenate([np.arange(2, 65), np.geomspace(65, most, 40).astype(int)]))
    reached = np.nonzero(_power_at(effect, sd, n, alpha) >= target)[0]
    return int(n[reached[0]]) if reached.size else most + 1


def rates_power(rates: tuple | None, n_better: int, n_worse: int, alpha: float = ALPHA) -> float:
    """Exact power of `fewer_events` at the paper's rates: the chance, over every outcome of two binomials, that
    the test is significant."""
    if rates is None or n_better == 0 or n_worse == 0:
        return float("nan")
    pb = stats.binom.pmf(np.arange(n_better + 1), n_better, rates[0])
    pw = stats.binom.pmf(np.arange(n_worse + 1), n_worse, rates[1])
    total = 0.0
    for x in range(n_better + 1):
        for y in range(n_worse + 1):
            if pb[x] * pw[y] > 1e-12 and fewer_events(x, n_better, y, n_worse) < alpha:
                total += pb[x] * pw[y]
    return float(total)


EXACT_RATES = 40  # rates_needed checks rates_power exactly up to this many runs an arm; beyond, the approximation


def rates_needed(rates: tuple, alpha: float = ALPHA, target: float = POWER, most: int = MOST_PAIRS) -> int | None:
    """The fewest runs an arm at which `rates_power` reaches ``target`` at ``rates`` (better's, worse's); None where
    the better arm's rate is not lower. Cohen's h (the arcsine-root difference; two arms of n: n = 2 ((z_{1-alpha} +
    z_{target}) / h)^2, Cohen 1988, ch. 6) bounds the search, which bisects the exact power up to EXACT_RATES runs
    (Boschloo's power is not quite monotone in n: the first n found, not always the least)."""
    better, worse = rates
    h = 2 * math.asin(math.sqrt(worse)) - 2 * math.asin(math.sqrt(better))
    if h <= 0:
        return None
    approx = math.ceil(2 * ((stats.norm.ppf(1 - alpha) + stats.norm.ppf(target)) / h) ** 2)
    if approx > EXACT_RATES:
        return min(approx, most + 1)
    lo, hi = 1, EXACT_RATES + 1  # power < target at lo (no test at 1 run), sought in (lo, hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if rates_power(rates, mid, mid, alpha) >= target:
            hi = mid
        else:
            lo = mid
    return hi if hi <= EXACT_RATES else max(approx, EXACT_RATES + 1)


# ---------------------------------------------------------------- units


def no_signal(better, worse, baseline: float | None, min_pairs: int = 2) -> str | None:
    """Why a mean comparison can tell nothing, or None: too few pairs, or most runs of an arm at the majority
    baseline (then its mean says how often it learnt, not how well)."""
    if len(better) == 0:
        return "no finished pairs"
    if len(better) < min_pairs:
        return f"fewer than {min_pairs} pairs"
    if baseline is not None:
        for name, arm in (("the better arm", better), ("the worse arm", worse)):
            at = int(np.sum(np.asarray(arm) <= baseline + 1e-9))
            if 2 * at > len(arm):
                return f"{at} of {len(arm)} runs of {name} at the majority baseline ({baseline:.1f})"
    return None


def mean_test(unit: Unit, better, worse, shape: Shape, resolution: float | None = None,
              baseline: float | None = None, seed: int = SEED) -> Test:
    """A gain or no-gain unit: the paired differences' sign-flip test (no_gain: against the margin)."""
    better, worse = np.asarray(better, float), np.asarray(worse, float)
    n = len(better)
    d = better - worse
    reason = no_signal(better, worse, baseline)
    effect = float(d.mean()) if n else float("nan")
    low, high = interval(d)
    if reason:
        return Test(unit, float("nan"), effect, low, high, n, float("nan"), reason=reason)
    sd = _sd(d, resolution)
    if shape.kind == "no_gain":
        m = shape.margin
        p = sign_flip(d - m, "less", seed)
        if shape.equivalence:
            p = max(p, sign_flip(d + m, "greater", seed))
        one = power(m, sd, n)  # at no true difference: a margin's worth of room
        pw = max(0.0, 2 * one - 1) if shape.equivalence and math.isfinite(one) else one
        target = (1 + POWER) / 2 if shape.equivalence else POWER
        # what refutes it: a gain significantly over the margin (equivalence: a difference significantly beyond it
        # either way, the two one-sided p doubled). The margin is the line the claim draws between no gain and a gain
        # (labelreg: the paper reads its own 0.1-0.6 point gains as none), so a gain inside it refutes nothing,
        # however many seeds make it significant against zero
        refute = sign_flip(d - m, "greater", seed)
        if shape.equivalence:
            refute = min(1.0, 2 * min(refute, sign_flip(d + m, "less", seed)))
        room = m - (abs(effect) if shape.equivalence else effect)  # what a true difference like the one seen leaves
        return Test(unit, p, effect, low, high, n, pw, other_way=refute, sd=sd,
                    against=m, target=target, seen=room)
    paper = shape.effect(unit.task)
    return Test(unit, sign_flip(d, "greater", seed), effect, low, high, n, power(paper, sd, n),
                other_way=sign_flip(d, "less", seed), sd=sd, against=paper,
                floor=floor(int(np.count_nonzero(d))), seen=effect)


def spread_test(unit: Unit, better, worse, seed: int = SEED) -> Test:
    """``better`` varies less: sign-flip test of the paired absolute deviations from each arm's median (worse's
    minus better's). Effect: the ratio of standard deviations, worse / better."""
    better, worse = np.asarray(better, float), np.asarray(worse, float)
    n = len(better)
    if n < 3:
        return Test(unit, float("nan"), float("nan"), float("nan"), float("nan"), n, float("nan"),
                    reason="fewer than 3 pairs" if n else "no finished pairs")
    dev = np.abs(worse - np.median(worse)) - np.abs(better - np.median(better))
    sb, sw = better.std(ddof=1), worse.std(ddof=1)
    ratio = float(sw / sb) if sb > 0 else float("inf") if sw > 0 else 1.0
    low, high = interval(dev)
    return Test(unit, sign_flip(dev, "greater", seed), ratio, low, high, n, float("nan"),
                other_way=sign_flip(dev, "less", seed), sd=_sd(dev, None), seen=float(dev.mean()))


def worst_test(unit: Unit, better, worse, seed: int = SEED) -> Test:
    better, worse = np.asarray(better, float), np.asarray(worse, float)
    n = len(better)
    if n < 2:
        return Test(unit, float("nan"), float("nan"), float("nan"), float("nan"), n, float("nan"),
                    reason="fewer than 2 pairs" if n else "no finished pairs")
    effect = float(better.min() - worse.min())
    return Test(unit, swap_min(better, worse, seed), effect, float("nan"), float("nan"), n, float("nan"),
                other_way=swap_min(worse, better, seed))


def rate_test(unit: Unit, better, worse, baseline: float, shape: Shape) -> Test:
    """Degenerate runs (at or below ``baseline``) rarer in ``better``: Boschloo's exact test on the counts."""
    better, worse = np.asarray(better, float), np.asarray(worse, float)
    eb, ew = int(np.sum(better <= baseline + 1e-9)), int(np.sum(worse <= baseline + 1e-9))
    if len(better) == 0 or len(worse) == 0:
        return Test(unit, float("nan"), float("nan"), float("nan"), float("nan"), 0, float("nan"),
                    reason="no finished runs")
    if eb == ew == 0:
        reason = None if shape.paper_rates else "no degenerate run in either arm"
        if reason:
            return Test(unit, float("nan"), 0.0, float("nan"), float("nan"), min(len(better), len(worse)),
                        float("nan"), reason=reason)
    p = fewer_events(eb, len(better), ew, len(worse))
    rates = (eb / len(better), ew / len(worse))
    return Test(unit, p, float(ew - eb), float("nan"), float("nan"), min(len(better), len(worse)),
                rates_power(shape.paper_rates, len(better), len(worse)),
                other_way=fewer_events(ew, len(worse), eb, len(better)), seen=rates[1] - rates[0], rates=rates)


def dedupe(units_scores: list[tuple[Unit, np.ndarray, np.ndarray]]) -> list[tuple[Unit, np.ndarray, np.ndarray]]:
    """Comparisons whose two score vectors are identical to an earlier one's (two arms that made the same
    predictions, e.g. SDA(5) and SDV(5)) count once: the first keeps its place, the label names the others."""
    seen: dict[tuple, int] = {}
    out: list = []
    for unit, better, worse in units_scores:
        key = (unit.dataset or unit.task, tuple(np.round(better, 9)), tuple(np.round(worse, 9)))
        if key in seen and len(better):
            i = seen[key]
            first = out[i][0]
            out[i] = (replace(first, label=f"{first.label or first.better} = {unit.label or unit.better}"),
                      *out[i][1:])
            continue
        seen[key] = len(out)
        out.append((unit, better, worse))
    return out


# ---------------------------------------------------------------- claims


def evaluate(claim: str, shape: Shape, scores: pd.DataFrame | dict, units: list[Unit], *,
             resolutions: dict | None = None, baselines: dict | None = None, premise: str | None = None,
             seed: int = SEED) -> Result:
    """A claim's tests over its ``units`` (ordering: the units are the adjacent pairs, in order) and its
    scope-combined p. ``scores``: a score frame, or its `cells` when several claims read one frame."""
    resolutions, baselines = resolutions or {}, baselines or {}
    index = scores if isinstance(scores, dict) else cells(scores)
    collected = dedupe([(u, *paired(index, u.task, u.better, u.worse, resolutions.get(u.task))) for u in units])
    arrays = {id(u): (b, w) for u, b, w in collected}
    tests = []
    for unit, better, worse in collected:
        base = baselines.get(unit.task)
        if shape.kind in MEAN_KINDS:
            tests.append(mean_test(unit, better, worse, shape, resolutions.get(unit.task), base, seed))
        elif shape.kind == "lower_spread":
            tests.append(spread_test(unit, better, worse, seed))
        elif shape.kind == "better_worst":
            tests.append(worst_test(unit, better, worse, seed))
        else:  # fewer_degenerate: every run of each arm, not only the paired ones
            if base is None:
                raise ValueError(f"claim {claim}: fewer_degenerate needs the majority baseline of {unit.task}")
            tests.append(rate_test(unit, arm_values(index, unit.task, unit.better),
                                   arm_values(index, unit.task, unit.worse), base, shape))
    live = [t for t in tests if t.reason is None]
    left = {(t.unit.label or t.unit.task): t.reason for t in tests if t.reason is not None}
    p, gain_p = float("nan"), float("nan")
    if live:
        ps = [t.p for t in live]
        if shape.scope == "any":
            p = float(ps[0]) if len(ps) == 1 else float(stats.combine_pvalues(np.clip(ps, 1e-300, 1), "fisher").pvalue)
        elif shape.scope == "pooled" and shape.kind in MEAN_KINDS and shape.kind != "no_gain":
            groups = [np.subtract(*arrays[id(t.unit)]) for t in live]
            p = stratified_sign_flip(groups, "greater", seed)
        else:  # each / all: intersection-union
            p = float(max(ps))
        if shape.kind == "no_gain":
            gain_p = float(min(1.0, min(t.other_way for t in live) * len(live)))  # Bonferroni = Holm's first step
    return Result(claim, shape, tuple(tests), p, left, premise, gain_p)


def about(pairs: int) -> str:
    """A seeds-needed count as text: "about 40", or "more than 1000" beyond pairs_needed's reach."""
    return f"more than {MOST_PAIRS}" if pairs > MOST_PAIRS else f"about {pairs}"


def _points(x: float) -> str:
    return f"{x:g} point" + ("" if x == 1 else "s")


def _fmt(x: float, digits: int = 2) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:+.{digits}f}"


def _describe(t: Test, kind: str) -> str:
    name = t.unit.label or t.unit.task
    if not math.isfinite(t.effect):
        return f"{name} –"
    if kind == "lower_spread":
        return f"{name} sd ratio {t.effect:.2f}" if math.isfinite(t.effect) else f"{name} –"
    if kind == "fewer_degenerate":
        return f"{name} {t.effect:+.0f} runs" if math.isfinite(t.effect) else f"{name} –"
    if kind == "better_worst":
        return f"{name} {_fmt(t.effect)}"
    return f"{name} {_fmt(t.effect)} [{_fmt(t.low)}, {_fmt(t.high)}]"


def _unit_power_text(t: Test) -> str:
    return "–" if not math.isfinite(t.power) else f"{t.power:.2f}"


def holm(pvalues) -> list[float]:
    """Holm's step-down adjusted p-values (equal to statsmodels' multipletests(method="holm"), checked in the
    tests): the i-th smallest p times (m - i + 1), made monotone, capped at 1."""
    p = np.asarray(pvalues, float)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, np.maximum.accumulate(p[order] * (p.size - np.arange(p.size))))
    out = np.empty_like(p)
    out[order] = scaled
    return [float(x) for x in out]


def refute_share(alpha: float, comparisons: int) -> float:
    """The alpha at which one comparison refutes a claim (the other way; no_gain: a gain over the margin): Bonferroni
    over the claim's live comparisons, Holm's first step. `_decide`, the sequential looks and `Result.refuting`
    read it."""
    return alpha / max(1, comparisons)


def holm_share(alpha: float, open_claims: int) -> float:
    """The alpha a confirmatory claim is tested at: its Holm share among the claims not yet rejected (the next
    step of Holm's procedure), as the fixed decision and the sequential looks both read it."""
    return alpha / max(1, open_claims)


def decide(results: list[Result], alpha: float = ALPHA) -> list[Decision]:
    """Holm's correction over the confirmatory claims that have a p (exploratory ones keep their raw p), then each
    claim's verdict from its adjusted p, its tests and the power rule."""
    family = [i for i, r in enumerate(results) if not r.shape.exploratory and math.isfinite(r.p) and not r.premise]
    # outside the family: an exploratory claim keeps its raw p; one without a p or premise has no adjusted p
    adjusted = {i: r.p if r.shape.exploratory else float("nan") for i, r in enumerate(results)}
    adjusted.update(zip(family, holm([results[i].p for i in family])))
    # an undecided claim's pairs are read at the alpha it would be tested at: its Holm share among the claims left
    share = holm_share(alpha, len(family) - sum(adjusted[i] < alpha for i in family))
    return [_decide(r, adjusted[i], alpha, len(family), share if i in family else alpha)
            for i, r in enumerate(results)]


def _decide(r: Result, p_adj: float, alpha: float, family: int, level: float) -> Decision:
    live = [t for t in r.tests if t.reason is None]
    effect = "; ".join(_describe(t, r.shape.kind) for t in r.tests) or "–"
    if r.shape.kind == "lower_spread" and any(math.isfinite(t.effect) for t in r.tests):  # how the ratio reads
        effect += " (the other arm's sd over the claimed steadier arm's: above 1 as claimed)"
    pairs = ", ".join(f"{t.unit.label or t.unit.task}"
                      f"{f' ({t.unit.stand_in})' if t.unit.stand_in else ''} {t.pairs}" for t in r.tests) or "0"
    power_text = ", ".join(f"{t.unit.label or t.unit.task} {_unit_power_text(t)}" for t in live) or "–"
    need = r.need(level, alpha)  # at ``level``, its Holm share (decide), as the sequential verdicts read it; a
    # refutation at ``alpha`` over the comparisons, as below

    def out(verdict: str, reason: str, asks: bool = False, tail: str = "") -> Decision:
        """``asks``: the claim is undecided for want of pairs, and the reason says how many a task it needs (or why
        no count), before ``tail``; Decision.needed holds them (None otherwise)."""
        if asks:
            reason += (f"; no seed count: {need.basis}" if need.pairs is None else
                       f"; needs {about(need.pairs)} pairs a task"
                       + (f" at {need.basis}" if need.basis.startswith("the effect seen") else ""))
        return Decision(r.claim, verdict, reason + tail, r.p, p_adj, effect, pairs, power_text, r.shape.exploratory,
                        need.pairs if asks else None, need.basis if asks else "")

    left = f" (left out: {'; '.join(f'{k}: {v}' for k, v in r.left_out.items())})" if r.left_out else ""
    if r.premise:
        return out(COULD_NOT_TELL, f"premise absent at this profile: {r.premise}")
    if not r.tests or all(t.reason == "no finished pairs" or t.reason == "no finished runs" for t in r.tests):
        return out(NOT_RUN, "no finished runs of the claim's arms")
    if not live:
        return out(COULD_NOT_TELL, "no comparison carries a signal" + left)
    holm = (f"Holm-adjusted over {family} claim{'s' if family != 1 else ''}" if not r.shape.exploratory
            else "exploratory, not adjusted")
    how = {"all": "every task (intersection-union)", "each": "every task (intersection-union)",
           "pooled": "the tasks pooled (stratified)", "any": "at least one task (Fisher)"}[r.shape.scope]
    sig = f"p {r.p:.3g} ({holm}: {p_adj:.3g}) over {how}"
    if r.shape.kind == "no_gain":
        if p_adj < alpha:
            return out(REPRODUCED, f"every difference within ±{_points(r.shape.margin)}: {sig}" + left
                       if r.shape.equivalence else f"the gain stays below {_points(r.shape.margin)}: {sig}" + left)
        what = "difference" if r.shape.equivalence else "gain"
        if r.gain_p < alpha:
            over = ("±" if r.shape.equivalence else "") + _points(r.shape.margin)
            return out(NOT_REPRODUCED, f"a {what} significantly over {over} (Holm over tasks p {r.gain_p:.3g}); the "
                                       f"margin test {sig}" + left)
        shown = (f"a difference within ±{_points(r.shape.margin)}" if r.shape.equivalence
                 else f"a gain below {_points(r.shape.margin)}")
        return out(COULD_NOT_TELL, f"neither a {what} over the margin nor {shown} shown: {sig}", asks=True,
                   tail=left)
    if p_adj < alpha:
        return out(REPRODUCED, sig + left)
    other = [t for t in live if math.isfinite(t.other_way) and t.other_way < refute_share(alpha, len(live))]
    if other and r.shape.scope != "any":  # Bonferroni over the units: one task the other way refutes "all"
        return out(NOT_REPRODUCED, f"the other way on {', '.join(t.unit.label or t.unit.task for t in other)} "
                                   f"(p {min(t.other_way for t in other):.3g}); {sig}" + left)
    if r.p < alpha:  # the claim's own test is significant: only Holm's correction across the claims stops it
        return out(COULD_NOT_TELL, f"significant alone, not after Holm's correction: {sig}", asks=True, tail=left)
    failing = [t for t in live if not (t.p < alpha)]
    powered = [t for t in failing if math.isfinite(t.power) and t.power >= POWER]
    if r.shape.scope in ("all", "each") and powered:
        return out(NOT_REPRODUCED, f"{', '.join(t.unit.label or t.unit.task for t in powered)} had power "
                                   f"≥ {POWER:g} for the paper's effect and no significant gain; {sig}" + left)
    if r.shape.scope in ("pooled", "any") and failing and all(
            math.isfinite(t.power) and t.power >= POWER for t in live):
        return out(NOT_REPRODUCED, f"every comparison had power ≥ {POWER:g} for the paper's effect; {sig}" + left)
    if all(not math.isfinite(t.power) for t in failing):
        why = "the paper gives no effect size to have power against"
    else:
        why = f"power below {POWER:g} for the paper's effect"
    return out(COULD_NOT_TELL, f"not significant and {why}: {sig}", asks=True, tail=left)
