"""Group-sequential verdicts: seeds in looks declared in advance (e.g. 4, 8, 16 pairs), each undecided claim re-tested
at every look by the engine's own tests (analysis.engine, unchanged) against boundaries that keep the chance of a
false "reproduced" within alpha over all the looks (issue 28, item 2). Pure functions; the driver that runs the
seeds and spends the budget calls them.

- Efficacy: a one-sided alpha-spending design (Lan & DeMets 1983, Biometrika 70:659; Lan-DeMets O'Brien-Fleming by
  default, Pocock-type optional) over the information fractions t_k = n_k / n_max. The boundaries come from the
  exact joint normal law of the look statistics (corr sqrt(t_i / t_j)) by the Armitage-McPherson-Rowe recursion
  (Armitage, McPherson & Rowe 1969, JRSS A 132:235; Jennison & Turnbull 2000, "Group Sequential Methods", ch. 19),
  integrated with Simpson's rule; tests/test_sequential.py checks them against gsDesign's published values and
  scipy's multivariate normal. A claim crosses at look k when its p < the look's nominal threshold (p < alpha, as
  the engine reads it, where there is one look).
- Futility, for the engine's power rule, by beta-spending (Pampallona & Tsiatis 1994, JSPI 42:19; gsDesign's
  test.type 4): the chance of a "not reproduced" when the paper's effect is true is spent over the looks with the
  same spending family, 1 - POWER in all, so a sequential "not reproduced" errs at most as often as the fixed rule
  allows. As the fixed rule, it applies only when the design had POWER to see the paper's effect at the observed
  spread. Non-binding: the efficacy boundaries are computed ignoring it, so a driver may run on past it.
- The engine's p is a sign-flip p (about a t-test's), so the power and the futility bounds read each look's exact
  noncentral-t margin, joined by the Brownian correlation of the looks (a Gaussian copula); one look gives the
  engine's own power, number for number.
- Holm across the confirmatory claims, group-sequentially: each unrejected claim holds alpha / m_left, with the
  same spending function; a rejection recycles its share to the rest, whose boundaries are those of the larger
  level from the first look on (Ye, Li, Liu & Yao 2013, Stat Med 32:1112, "A group sequential Holm procedure with
  multiple primary endpoints"; the graphical form of Maurer & Bretz 2013, Stat Biopharm Res 5:311).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from analysis.claims import COULD_NOT_TELL, NOT_REPRODUCED, NOT_RUN, REPRODUCED
from analysis.engine import ALPHA, MEAN_KINDS, MOST_PAIRS, POWER, Result, Test, floor, holm_share, refute_share

CONTINUE = "continue"  # an undecided claim whose cells get the next look's seeds
INTERIM_SD = 0.8  # futility before the last look reads the sd's one-sided 80% upper confidence bound (`_refuted`)
SPENDING = ("obf", "pocock")
_NODES, _WIDTH = 201, 10.0  # Simpson nodes per look over mean +- _WIDTH: h = 0.05, crossing probabilities to ~1e-9


def spend(t, alpha: float, kind: str = "obf") -> np.ndarray:
    """The alpha spent by information fraction ``t``: Lan-DeMets O'Brien-Fleming type 2 - 2 Phi(z_{1-alpha/2} / sqrt
    t) (one-sided, as gsDesign's sfLDOF), or Pocock type alpha ln(1 + (e - 1) t); exactly alpha at t >= 1."""
    t = np.asarray(t, float)
    with np.errstate(divide="ignore"):
        if kind == "obf":
            out = 2 * stats.norm.sf(stats.norm.isf(alpha / 2) / np.sqrt(t))
        elif kind == "pocock":
            out = alpha * np.log1p((math.e - 1) * t)
        else:
            raise ValueError(f"spending {kind!r} is not one of {', '.join(SPENDING)}")
    return np.where(t >= 1, alpha, np.where(t > 0, out, 0.0))


# ---------------------------------------------------------------- the recursion


def _pdf(x):
    return np.exp(-0.5 * np.square(x)) / math.sqrt(2 * math.pi)


def _simpson(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    z = np.linspace(lo, hi, _NODES)
    w = np.ones(_NODES)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return z, w * (hi - lo) / (3 * (_NODES - 1))


class _Walk:
    """The look statistics Z_k (mean mu_k, corr(Z_i, Z_j) = sqrt(t_i / t_j)) as the sub-density of the paths that
    have crossed no bound yet, look by look (Jennison & Turnbull 2000, section 19.2)."""

    def __init__(self, t, mu):
        self.t, self.mu, self.k = np.asarray(t, float), np.asarray(mu, float), 0
        self.z = self.mass = None  # nodes and weight x sub-density at the last look passed

    def _arg(self, x):
        """(x sqrt(t_k) - z sqrt(t_{k-1}) - drift of the increment) / sd of the increment, nodes z by x."""
        k, t, mu = self.k, self.t, self.mu
        step = mu[k] * math.sqrt(t[k]) - mu[k - 1] * math.sqrt(t[k - 1])
        x = np.atleast_1d(np.asarray(x, float))[:, None]
        return (x * math.sqrt(t[k]) - self.z * math.sqrt(t[k - 1]) - step) / math.sqrt(t[k] - t[k - 1])

    def above(self, c: float) -> float:
        """P(no bound crossed before look k, Z_k >= c)."""
        if self.k == 0:
            return float(special.ndtr(self.mu[0] - c))
        return float((special.ndtr(-self._arg(c)) @ self.mass)[0]) if self.z.size else 0.0

    def below(self, a: float) -> float:
        if self.k == 0:
            return float(special.ndtr(a - self.mu[0]))
        return float((special.ndtr(self._arg(a)) @ self.mass)[0]) if self.z.size else 0.0

    def on(self, low: float, high: float) -> None:
        """Keep the paths with low < Z_k < high and move to the next look."""
        k, t, mu = self.k, self.t, self.mu
        lo, hi = max(low, mu[k] - _WIDTH), min(high, mu[k] + _WIDTH)
        if hi <= lo:
            z, mass = np.empty(0), np.empty(0)
        else:
            z, w = _simpson(lo, hi)
            if k == 0:
                density = _pdf(z - mu[0])
            else:
                density = (_pdf(self._arg(z)) @ self.mass) * math.sqrt(t[k] / (t[k] - t[k - 1]))
            mass = w * density
        self.z, self.mass, self.k = z, mass, k + 1


def _solve(f, target: float, lo: float, hi: float) -> float:
    """The root of the monotone f(x) = target in [lo, hi] (to 1e-10)."""
    return float(optimize.brentq(lambda x: f(x) - target, lo, hi, xtol=1e-10, rtol=1e-12))


@functools.lru_cache(maxsize=256)
def _efficacy(looks: tuple, alpha: float, kind: str) -> tuple[tuple, tuple, tuple]:
    """(cumulative alpha spent, boundaries z_k, nominal thresholds p_k) under H0, no futility bound (non-binding)."""
    t = np.asarray(looks, float) / looks[-1]
    spent = spend(t, alpha, kind)
    walk, z, p = _Walk(t, np.zeros(len(t))), [], []
    for k in range(len(t)):
        step = spent[k] - (spent[k - 1] if k else 0.0)
        if k == 0:  # the first look's threshold is its spend, exactly (one look: p < alpha, the engine's rule)
            c, nominal = float(stats.norm.isf(step)) if step > 0 else math.inf, float(step)
        else:
            c = _solve(walk.above, step, -_WIDTH, 40.0) if step > 0 else math.inf
            nominal = float(stats.norm.sf(c))
        z.append(c)
        p.append(nominal)
        walk.on(-math.inf, c)
    return tuple(float(s) for s in spent), tuple(z), tuple(p)


# ---------------------------------------------------------------- a look's margin under the paper's effect


def _tail(p: float, n: int, delta: float) -> float:
    """P(p-value < ``p``) of the one-sided one-sample t-test of n pairs at standardized effect ``delta`` (the
    engine's noncentral t), 0 where the exact sign-flip test cannot reach p (engine.floor). scipy.special's
    t and noncentral-t functions, which scipy.stats wraps (the same numbers, without its per-call overhead)."""
    if n < 2 or floor(n) >= p or p <= 0:
        return 0.0
    return float(1 - special.nctdtr(n - 1, delta * math.sqrt(n), -special.stdtrit(n - 1, p)))


def _p_below(q: float, n: int, delta: float) -> float:
    """The p-value whose upper tail holds probability ``q`` at ``delta``: P(p-value >= it) = q."""
    return float(special.stdtr(n - 1, -special.nctdtrit(n - 1, delta * math.sqrt(n), q)))


@dataclass(frozen=True)
class Chances:
    """A design's operating characteristics at one standardized effect."""
    power: float  # P(efficacy at some look), futility ignored (the power rule's number)
    reproduced: float  # P(efficacy before futility), futility obeyed
    not_reproduced: float  # P(futility before efficacy), at most 1 - POWER by construction
    by_look: tuple  # (P(efficacy at k), P(futility at k)) per look, futility obeyed


@dataclass(frozen=True)
class Design:
    """Looks declared in advance, as pairs per cell (increasing; the last one is the paper's count), the one-sided
    alpha spent over them, the spending function, and the power the power rule asks for."""
    looks: tuple = (4, 8, 16)
    alpha: float = ALPHA
    spending: str = "obf"
    power: float = POWER

    def __post_init__(self):
        looks = tuple(int(n) for n in self.looks)
        if not looks or looks[0] < 2 or any(b <= a for a, b in zip(looks, looks[1:])):
            raise ValueError(f"looks {self.looks!r}: pair counts must be increasing, from at least 2")
        if self.spending not in SPENDING:
            raise ValueError(f"spending {self.spending!r} is not one of {', '.join(SPENDING)}")
        if not 0 < self.alpha < 1 or not 0 < self.power < 1:
            raise ValueError("alpha and power lie strictly between 0 and 1")
        object.__setattr__(self, "looks", looks)

    def at(self, alpha: float) -> "Design":
        """The same looks and spending at another level (a claim's Holm share)."""
        return Design(self.looks, alpha, self.spending, self.power)

    @property
    def fractions(self) -> tuple:
        return tuple(n / self.looks[-1] for n in self.looks)

    @property
    def spent(self) -> tuple:
        """Cumulative alpha spent by each look (the last is alpha)."""
        return _efficacy(self.looks, self.alpha, self.spending)[0]

    @property
    def efficacy_z(self) -> tuple:
        return _efficacy(self.looks, self.alpha, self.spending)[1]

    @property
    def efficacy_p(self) -> tuple:
        """Nominal one-sided thresholds: a claim crosses at look k when its p < efficacy_p[k]."""
        return _efficacy(self.looks, self.alpha, self.spending)[2]

    def chances(self, delta: float) -> Chances:
        return _chances(self, float(delta))

    def at_pairs(self, pairs: int, k: int) -> "Design":
        """The looks as a comparison with ``pairs`` pairs at look k sees them: every look's count scaled by
        pairs / looks[k] (a comparison's pairs need not be a cell's seeds: Xu et al.'s VOTE(4) makes one pair of 4
        seeds), so that its futility bound reads the power of the pairs it will have, not the design's."""
        if pairs == self.looks[k]:
            return self
        out: list[int] = []
        for n in self.looks:
            out.append(max(2, round(n * pairs / self.looks[k]), out[-1] + 1 if out else 2))
        return Design(tuple(out), self.alpha, self.spending, self.power)

    def futility_p(self, delta: float | None) -> tuple:
        """Per look, the p at or above which a claim at standardized effect ``delta`` (the paper's effect / the
        observed sd) stops for futility; NaN where there is no bound: no effect given, or the design's power at it
        below ``power`` (the power rule: no "not reproduced" without it)."""
        if delta is None or not math.isfinite(delta) or delta <= 0:
            return (math.nan,) * len(self.looks)
        return _futility(self, float(delta))[1]

    def inflation(self) -> float:
        """The ratio of the pairs a sequential test needs for ``power`` to a fixed test's (the inflation factor R of
        Jennison & Turnbull 2000, section 2.6; normal theory): the engine's fixed-sample pairs, scaled by it."""
        return _inflation(self.looks, self.alpha, self.spending, self.power)

    def table(self) -> list[dict]:
        """The boundaries, one row a look (the report prints them)."""
        return [{"look": k + 1, "pairs": n, "fraction": t, "alpha spent": s, "z": z, "p below": p}
                for k, (n, t, s, z, p) in enumerate(zip(self.looks, self.fractions, self.spent, self.efficacy_z,
                                                        self.efficacy_p))]


def _latent(design: Design, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Each look's mean delta sqrt(n_k) and its efficacy bound on that normal scale, moved so that crossing it is
    as likely as the exact t margin says (+inf where the sign-flip test cannot reach the threshold)."""
    n = np.asarray(design.looks, float)
    mu = delta * np.sqrt(n)
    upper = np.array([m - special.ndtri(_tail(p, int(k), delta)) for m, p, k in zip(mu, design.efficacy_p, n)])
    return mu, upper


@functools.lru_cache(maxsize=4096)
def _futility(design: Design, delta: float) -> tuple[tuple, tuple]:
    """(latent futility bounds, futility p thresholds) by beta-spending 1 - power with the design's spending
    family, the efficacy bounds in place (a path that crossed one is no futility stop); none if underpowered."""
    none = (math.nan,) * len(design.looks)
    if _chances_raw(design, delta, None).power < design.power:
        return none, none
    mu, upper = _latent(design, delta)
    beta = 1 - design.power
    target = spend(np.asarray(design.fractions), beta, design.spending)
    walk, spent, lower, p_at = _Walk(design.fractions, mu), 0.0, [], []
    for k, n in enumerate(design.looks):
        want = float(target[k]) - spent
        top = upper[k] if math.isfinite(upper[k]) else mu[k] + _WIDTH
        if want <= 0:
            a = -math.inf
        elif walk.below(top) <= want:
            a = top  # all that is left below the efficacy bound costs less than the share: it all reads futile
        else:
            a = _solve(walk.below, want, mu[k] - 40.0, top)
        spent += walk.below(a) if math.isfinite(a) else 0.0
        lower.append(a)
        if not math.isfinite(a):
            p_at.append(math.nan)
        elif a >= upper[k]:
            p_at.append(design.efficacy_p[k])  # the bounds meet: every p not crossing efficacy is futile
        else:
            p_at.append(_p_below(float(special.ndtr(a - mu[k])), n, delta))
        if p_at[-1] <= floor(n):
            # the exact sign-flip test of n pairs gives no p below floor(n) (5 pairs: 1/32): a threshold at or under
            # it would stop every claim here whatever its data, so this look has no futility stop (as _tail has no
            # efficacy crossing there). Non-binding, so the looks' other bounds stand; it only errs less often.
            p_at[-1] = math.nan
        walk.on(a, upper[k])
    return tuple(lower), tuple(p_at)


def _chances_raw(design: Design, delta: float, lower) -> Chances:
    mu, upper = _latent(design, delta)
    walk, by_look = _Walk(design.fractions, mu), []
    for k in range(len(design.looks)):
        a = lower[k] if lower is not None and math.isfinite(lower[k]) else -math.inf
        up = walk.above(upper[k]) if math.isfinite(upper[k]) else 0.0
        down = walk.below(a) if math.isfinite(a) else 0.0
        by_look.append((up, down))
        walk.on(a, upper[k])
    eff = sum(u for u, _ in by_look)
    return Chances(eff, eff, sum(d for _, d in by_look), tuple(by_look))


@functools.lru_cache(maxsize=4096)
def _chances(design: Design, delta: float) -> Chances:
    alone = _chances_raw(design, delta, None)
    lower = _futility(design, delta)[0]
    if not any(math.isfinite(a) for a in lower):
        return Chances(alone.power, alone.power, 0.0, tuple((u, 0.0) for u, _ in alone.by_look))
    both = _chances_raw(design, delta, lower)
    return Chances(alone.power, both.reproduced, both.not_reproduced, both.by_look)


@functools.lru_cache(maxsize=64)
def _inflation(looks: tuple, alpha: float, kind: str, power: float) -> float:
    t = np.asarray(looks, float) / looks[-1]
    z = _efficacy(looks, alpha, kind)[1]

    def reach(theta: float) -> float:  # power at drift theta at the last look (normal theory)
        walk, total = _Walk(t, theta * np.sqrt(t)), 0.0
        for k in range(len(t)):
            total += walk.above(z[k]) if math.isfinite(z[k]) else 0.0
            walk.on(-math.inf, z[k])
        return total

    theta = _solve(reach, power, 0.0, 20.0)
    return (theta / (stats.norm.isf(alpha) + stats.norm.isf(1 - power))) ** 2


# ---------------------------------------------------------------- claims, look by look


@dataclass(frozen=True)
class Sequential:
    """A claim's sequential verdict: reproduced / not reproduced / could not tell, or CONTINUE (give its cells the
    next look's seeds)."""
    claim: str
    verdict: str
    reason: str
    look: int  # the look that decided it (1-based), or the last one it was tested at
    pairs: int  # the pairs per cell it received (the declared count of that look)
    p: tuple  # its p at each look it was tested
    thresholds: tuple  # its efficacy threshold at each of those looks (its Holm share's boundary)
    level: float  # the alpha it held at its last look (alpha / claims left in Holm's family)
    next_pairs: int | None = None  # CONTINUE, or the budget ended: pairs per cell the next look needs
    cells: tuple = field(default_factory=tuple)  # CONTINUE: the (task, arm) cells that need them
    needed: int | None = None  # undecided: pairs a task the power rule asks for at its Holm share (sequential)
    needed_basis: str = ""  # what ``needed`` is powered against, or why there is no count (engine.Need)


def effect_size(test: Test, shape, upper: float | None = None) -> float | None:
    """The paper's standardized effect for a mean unit: its effect / the sd of the paired differences, as the
    engine's power rule reads it (Test.sd: at least one resolution step of the unit's metric). ``upper``: the sd's
    one-sided upper confidence bound at that level instead, sd sqrt((n - 1) / chi2_{1-upper, n-1}). None without an
    effect or a spread."""
    paper = shape.effect(test.unit.task)
    if paper is None or test.reason is not None or test.pairs < 2 or not math.isfinite(test.sd):
        return None
    n, sd = test.pairs, test.sd
    if upper is not None:
        sd *= math.sqrt((n - 1) / stats.chi2.ppf(1 - upper, n - 1))
    return paper / sd


def _cells(r: Result) -> tuple:
    return tuple(sorted({(t.unit.task, arm) for t in r.tests for arm in (t.unit.better, t.unit.worse)}))


def _name(t: Test) -> str:
    return t.unit.label or t.unit.task


def _refuted(r: Result, k: int, design: Design) -> str | None:
    """Why the claim reads "not reproduced" at look k (0-based), or None: a gain against no_gain, a unit the other
    way (Bonferroni over units, as the engine), or a futility bound crossed with the power to see the paper's
    effect. The power rule and the other-way test read the unadjusted alpha, as the engine's do."""
    live = [t for t in r.tests if t.reason is None]
    if r.shape.kind == "no_gain":
        if r.gain_p < design.efficacy_p[k]:
            return (f"a {'difference' if r.shape.equivalence else 'gain'} significantly over the margin "
                    f"(p {r.gain_p:.3g} < {design.efficacy_p[k]:.3g})")
        return None
    if r.shape.scope != "any":
        line = design.at(refute_share(design.alpha, len(live))).efficacy_p[k]
        other = [t for t in live if t.other_way < line]
        if other:
            return (f"the other way on {', '.join(_name(t) for t in other)} "
                    f"(p {min(t.other_way for t in other):.3g} < {line:.3g})")
    if r.shape.kind not in MEAN_KINDS:
        if k == len(design.looks) - 1:  # no drift to spend beta over: the engine's fixed rule at the last look
            powered = [t for t in live if not t.p < design.efficacy_p[k] and math.isfinite(t.power)
                       and t.power >= design.power]
            if powered and (r.shape.scope in ("all", "each") or len(powered) == len(live)):
                return f"{', '.join(_name(t) for t in powered)} had power ≥ {design.power:g}, no crossing"
        return None
    # An interim stop is for good, on few pairs: there the spread is its one-sided INTERIM_SD upper confidence
    # bound, so that a small sd seen by chance on 4 pairs cannot make a stop look powered (with the plug-in sd,
    # 4 pairs at the paper's effect stopped 12% of claims at look 1 against the 1% the design spends there;
    # tests/test_sequential.py). The last look reads the observed sd, as the engine's power rule does.
    upper = INTERIM_SD if k < len(design.looks) - 1 else None
    sizes = {id(t): effect_size(t, r.shape, upper) for t in live}
    bound = {}
    for t in live:
        # tied pairs raise the smallest p the exact test gives (Test.floor): a bound at or under it would stop the
        # comparison whatever its data, so it has none (as _futility drops a bound under engine.floor(pairs))
        line = design.at_pairs(t.pairs, k).futility_p(sizes[id(t)])[k]
        bound[id(t)] = line if line > t.floor else math.nan
    if r.shape.scope in ("all", "each"):
        futile = [t for t in live if t.p >= bound[id(t)]]
        if futile:
            return (f"futility on {', '.join(_name(t) for t in futile)} (p {max(t.p for t in futile):.3g} ≥ "
                    f"{min(bound[id(t)] for t in futile):.3g}, with power ≥ {design.power:g} for the paper's "
                    f"effect by the last look)")
        return None
    if any(sizes[id(t)] is None for t in live):
        return None
    smallest = min(sizes[id(t)] for t in live)  # pooled / any: every unit powered, so the least powered one
    line = design.at_pairs(min(t.pairs for t in live), k).futility_p(smallest)[k]
    failing = [t for t in live if not t.p < design.efficacy_p[k]]  # as the engine: some unit does not cross
    if failing and r.p >= line:
        return f"futility (p {r.p:.3g} ≥ {line:.3g}, every comparison with power ≥ {design.power:g})"
    return None


def decide(design: Design, looks, *, budget_left: bool = True,
           held: Callable[[str, int], int] | None = None) -> list[Sequential]:
    """Sequential verdicts for a report's claims. ``looks[k]``: the claims' Results at the k-th declared look (the
    first design.looks[k] pairs of every cell), the same claims in the same order at every look; fewer looks than
    declared when the run stopped early. A claim decided at a look ignores the looks after it. Where the looks end
    before the last declared one, an undecided claim reads CONTINUE (``budget_left``) with the cells and pairs the
    next look needs, or "could not tell" when the budget is spent. ``held(claim, k)``: the pairs a cell the claim's
    data holds at look k (0-based) where a partial look left it out (reports.looks), for its row and reason; else
    the look's declared count."""
    looks = [list(rs) for rs in looks]
    if not looks or len(looks) > len(design.looks):
        raise ValueError(f"{len(looks)} looks given for a design of {len(design.looks)}")
    names = [r.claim for r in looks[0]]
    if any([r.claim for r in rs] != names for rs in looks):
        raise ValueError("every look must give the same claims in the same order")
    final = len(design.looks) - 1
    out: dict[int, Sequential] = {}
    ps: dict[int, list] = {i: [] for i in range(len(names))}  # the claim's p at each look it was tested
    lines: dict[int, list] = {i: [] for i in range(len(names))}
    family: set[int] = set()
    rejected: set[int] = set()

    def pairs(i, k):
        return held(names[i], k) if held else design.looks[k]

    def settle(i, k, verdict, reason, level, need=(None, "")):
        out[i] = Sequential(names[i], verdict, reason, k + 1, pairs(i, k), tuple(ps[i]), tuple(lines[i]),
                            level, needed=need[0], needed_basis=need[1])

    def share(r: Result) -> float:  # the claim's alpha now: its Holm share, or its own alpha if exploratory
        return design.alpha if r.shape.exploratory else holm_share(design.alpha, len(family) - len(rejected))

    for k, results in enumerate(looks):
        open_ = [i for i in range(len(names)) if i not in out]
        for i in open_:
            r = results[i]
            ps[i].append(r.p)
            if r.premise:
                lines[i].append(math.nan)
                settle(i, k, COULD_NOT_TELL, f"premise absent at this profile: {r.premise}", design.alpha)
            elif not r.shape.exploratory and math.isfinite(r.p):
                family.add(i)  # as the engine's family: a confirmatory claim with a p (once in, it stays)
        open_ = [i for i in open_ if i not in out]
        while True:  # Holm, step-down at this look: every claim that crosses at the current share, then re-share
            crossed = [i for i in open_ if i not in out and results[i].p < design.at(share(results[i])).efficacy_p[k]]
            if not crossed:
                break
            for i in crossed:
                level = share(results[i])
                lines[i].append(design.at(level).efficacy_p[k])
                settle(i, k, REPRODUCED, _crossed(results[i], k, design, level, len(family), pairs(i, k)), level)
            rejected |= {i for i in crossed if i in family}
        for i in [i for i in open_ if i not in out]:
            r, level = results[i], share(results[i])
            lines[i].append(design.at(level).efficacy_p[k])
            if not [t for t in r.tests if t.reason is None]:
                if k == final:
                    unrun = all(t.reason in ("no finished pairs", "no finished runs") for t in r.tests)
                    settle(i, k, NOT_RUN if unrun else COULD_NOT_TELL,
                           "no finished runs of the claim's arms" if unrun else "no comparison carries a signal",
                           level)
                continue
            why = _refuted(r, k, design)
            if why:
                settle(i, k, NOT_REPRODUCED, f"look {k + 1} ({pairs(i, k)} pairs): {why}", level)
            elif k == final:
                settle(i, k, COULD_NOT_TELL, _short(r, design, level), level,
                       _needed(r, design, level))
    last = len(looks) - 1
    verdicts = []
    for i, name in enumerate(names):
        if i in out:
            verdicts.append(out[i])
            continue
        nxt = design.looks[last + 1]
        r = looks[last][i]
        needed, basis = _needed(r, design, share(r))
        common = dict(look=last + 1, pairs=pairs(i, last), p=tuple(ps[i]), thresholds=tuple(lines[i]),
                      level=share(r), next_pairs=nxt, needed=needed, needed_basis=basis)
        if budget_left:
            verdicts.append(Sequential(name, CONTINUE, f"undecided after look {last + 1}: the next look needs {nxt} "
                                                       f"pairs a cell", cells=_cells(r), **common))
        else:
            verdicts.append(Sequential(name, COULD_NOT_TELL, f"the budget ended after look {last + 1} of "
                                                             f"{len(design.looks)}; look {last + 2} needs {nxt} "
                                                             f"pairs a cell", **common))
    return verdicts


def _crossed(r: Result, k: int, design: Design, level: float, family: int, pairs: int) -> str:
    holm = "exploratory, its own alpha" if r.shape.exploratory else f"Holm share of {family} claims"
    return (f"crossed at look {k + 1} ({pairs} pairs): p {r.p:.3g} < {design.at(level).efficacy_p[k]:.3g} "
            f"(alpha {level:.3g}, {holm}, {design.spending} spending)")


def _short(r: Result, design: Design, level: float) -> str:
    """Why a claim that reached the last look reads "could not tell"."""
    k = len(design.looks) - 1
    if r.shape.kind == "no_gain":
        return f"neither non-inferiority nor a gain over the margin shown by the last look (p {r.p:.3g})"
    if r.p < design.efficacy_p[k]:
        return f"significant alone (p {r.p:.3g}), not at its Holm share {level:.3g}"
    live = [t for t in r.tests if t.reason is None]
    if all(effect_size(t, r.shape) is None for t in live):
        return f"no crossing by the last look (p {r.p:.3g}); the paper gives no effect size to have power against"
    return (f"no crossing by the last look (p {r.p:.3g}) and no futility bound crossed: power below "
            f"{design.power:g} for the paper's effect")


def _needed(r: Result, design: Design, level: float) -> tuple[int | None, str]:
    """The engine's pairs for POWER (fixed sample, engine.Result.need) at ``level``, the claim's Holm share at its
    last look (the alpha it is tested at, not the family's), scaled by the design's inflation at that level; and
    what they are powered against (or why no count)."""
    need = r.need(level, design.alpha)
    if need.pairs is None or need.pairs > MOST_PAIRS:  # beyond reach stays "more than MOST_PAIRS"
        return need.pairs, need.basis
    return math.ceil(need.pairs * design.at(need.level or level).inflation()), need.basis


def verdict(design: Design, results, *, budget_left: bool = True) -> Sequential:
    """One claim's sequential verdict from its Results at the looks so far (a family of one: no Holm)."""
    return decide(design, [[r] for r in results], budget_left=budget_left)[0]


def at_looks(design: Design, evaluate, pairs: int) -> list:
    """``evaluate(n)`` (the claims' Results on the first n pairs of every cell) at each declared look that
    ``pairs`` reaches: the ``looks`` argument of `decide`."""
    return [evaluate(n) for n in design.looks if n <= pairs]


def first_pairs(scores: pd.DataFrame, n: int) -> pd.DataFrame:
    """The rows of a score frame whose pair is among the first n pair ids of their task: the runs a look of n pairs
    reads (pair ids in their natural order, e.g. seeds 0, 1, 2, ...; a failed run's pair counts, and is lost)."""
    def first(ids: pd.Series) -> pd.Series:
        uniq = ids.drop_duplicates().tolist()
        try:
            keep = set(sorted(uniq)[:n])
        except TypeError:
            keep = set(sorted(uniq, key=str)[:n])
        return ids.isin(keep)
    mask = scores.groupby("task", sort=False)["pair"].transform(first).astype(bool)
    return scores[mask]
