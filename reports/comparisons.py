"""Paired comparisons behind a claim verdict, shared by the selfdistill and minBERT claims modules, decided by the
claims engine (analysis.engine): each comparison an exact sign-flip test of its paired differences (on the metric's
resolution where the caller gives one), several comparisons by intersection-union (the claim holds on every one),
comparisons with identical score vectors counted once, an arm mostly at the majority baseline left out, and the
power rule at the paper's gain. `holm` then adjusts a report's claims together."""
from __future__ import annotations

import dataclasses

import numpy as np

from analysis import claims as tests
from analysis import engine
from reports.kit import degenerate_threshold, needs


class Comparisons:
    """The paired comparisons of one claim, by task (or arm), and the paper's gain on each (for the power rule)."""

    def __init__(self, ctx, shape: dict | None = None):
        """``shape``: the claim's `shape:` from its YAML (analysis.engine.Shape; default: a gain on every
        comparison); the paper's effect per comparison comes from `add`'s ``expected`` unless the shape gives one."""
        self.ctx, self.shape = ctx, engine.Shape.from_yaml(shape) if shape else engine.Shape("gain", "all")
        self.rows, self.units, self.expected, self.baselines, self.resolutions = [], [], {}, {}, {}

    def add(self, label: str, better, worse, task: str, expected: float | None = None,
            baseline: float | None = None, resolution: float | None = None, stand_in: str | None = None) -> None:
        """One paired comparison (``better`` and ``worse`` in pair order); ``baseline`` (default: the task's majority
        class, kit.degenerate_threshold) is the score at or below which a run learnt nothing; ``resolution``: the
        step between attainable scores (kit.resolution), None to compare the floats as they are; ``stand_in``: the
        dataset that replaces the paper's here (shown beside the pairs)."""
        better, worse = np.asarray(better, float), np.asarray(worse, float)
        if baseline is None and len(better):
            baseline = degenerate_threshold(self.ctx, task)
        self.rows += [(label, "better", i, v) for i, v in enumerate(better)]
        self.rows += [(label, "worse", i, v) for i, v in enumerate(worse)]
        self.units.append(engine.Unit(label, "better", "worse", label, stand_in, dataset=task))
        self.expected[label], self.baselines[label], self.resolutions[label] = expected, baseline, resolution

    def result(self, claim: str = "", premise: str | None = None) -> engine.Result:
        effects = tuple((k, v) for k, v in self.expected.items() if v is not None)
        shape = self.shape if self.shape.paper_effect is not None else dataclasses.replace(
            self.shape, paper_effect=effects or None)
        return engine.evaluate(claim, shape, engine.frame(self.rows), self.units, resolutions=self.resolutions,
                               baselines={k: v for k, v in self.baselines.items() if v is not None}, premise=premise)

    def verdict(self, premise: str | None = None) -> dict:
        """The claim's verdict on its own (before Holm's correction across the report: `holm`), its reason, and
        the engine's result (``result``) for that correction; ``premise``: why the claim's premise is absent at this
        profile (then "could not tell", whatever the scores say)."""
        return decided(self.result(premise=premise))


def decided(result: engine.Result) -> dict:
    """One result decided alone (Holm across the report comes later, `holm`), keeping the result for it."""
    d = engine.decide([result])[0]
    return {"verdict": d.verdict, "reason": d.reason, "result": result}


def all_of(parts: list[tuple[str, dict]]) -> dict:
    """A claim made of several comparisons (arms, steps) holds when each does: one intersection-union test over all
    their comparisons, each labelled with its part. Parts decided without the engine keep the old rule (every part
    reproduced; any not reproduced), their reasons side by side."""
    if all("result" in p for _, p in parts):
        tests_, left = [], {}
        for name, p in parts:
            r = p["result"]
            tests_ += [dataclasses.replace(t, unit=dataclasses.replace(t.unit, label=f"{name}: {t.unit.label}"))
                       for t in r.tests]
            left.update({f"{name}: {k}": v for k, v in r.left_out.items()})
        live = [t.p for t in tests_ if t.reason is None]
        first = parts[0][1]["result"]
        merged = engine.Result(first.claim, first.shape, tuple(tests_), float(max(live)) if live else float("nan"),
                               left)
        return decided(merged)
    kinds = [p["verdict"] for _, p in parts]
    if tests.NOT_REPRODUCED in kinds:
        verdict = tests.NOT_REPRODUCED
    elif all(k == tests.REPRODUCED for k in kinds):
        verdict = tests.REPRODUCED
    elif all(k == tests.NOT_RUN for k in kinds):
        verdict = tests.NOT_RUN
    else:
        verdict = tests.COULD_NOT_TELL
    return {"verdict": verdict, "reason": " | ".join(f"{name}: {p['verdict']}, {p['reason']}" for name, p in parts)}


def holm(verdicts: list[dict], claims: list[dict], hours_per_trial: float = float("nan")) -> list[dict]:
    """Holm's correction across a report's claims decided by the engine (dicts with a ``result``): each verdict
    and reason from its adjusted p; a claim whose shape says ``exploratory: true`` stays out of the family. Every
    row gains the engine's columns (p, p_adjusted, effect, pairs, power, exploratory) and keeps its ``result``
    (named and flagged, before Holm: what reports.looks re-tests at each look); the rest keep theirs. Each
    engine row gains its seeds-needed columns (kit.needs), a pair costing two trials for each comparison it tests,
    at ``hours_per_trial`` (the report's mean finished trial, kit.hours_per_trial)."""
    flags = {c["id"]: bool((c.get("shape") or {}).get("exploratory")) for c in claims}
    engined = [i for i, v in enumerate(verdicts) if "result" in v]
    results = []
    for i in engined:
        r = verdicts[i]["result"]
        shape = dataclasses.replace(r.shape, exploratory=flags.get(verdicts[i]["id"], False))
        results.append(dataclasses.replace(r, claim=verdicts[i]["id"], shape=shape))
    out = [dict(v) for v in verdicts]
    for i, d, r in zip(engined, engine.decide(results), results):
        out[i].update(result=r, verdict=d.verdict, reason=d.reason, p=d.p, p_adjusted=d.p_adjusted, effect=d.effect,
                      pairs=d.pairs, power=d.power, exploratory=d.exploratory)
        out[i].update(needs(d, hours_per_trial * 2 * sum(t.reason is None for t in r.tests)))
    return out
