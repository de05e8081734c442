"""Claim verdicts for Kobyzev et al., as reports/published/labelreg.yaml declares them (`shape:` per claim). Every
comparison is paired by seed (the same seed's split, data order and head for both arms) on the test split's counts
of correct examples, and the claims engine (analysis.engine) picks the test from the shape: gains by exact sign-flip
tests, every task by intersection-union; "no gain" by non-inferiority within the claim's margin on every task (a
gain significantly over the margin refutes it); the power rule at the paper's effect; Holm across the report's claims.
Table 8's claim is the paper's own test pattern (exact two-sided Wilcoxon per arm), checked as printed."""
from __future__ import annotations

import numpy as np

from analysis import claims as tests
from analysis import engine
from reports.build import ReportContext
from reports.kit import (SEED, degenerate_threshold, engine_claims_section, hours_per_trial, needs,
                         resolution)
from reports.labelreg.tables import ROW_NAMES, scores


def _runnable(ctx: ReportContext, experiment: str, arm: str) -> bool:
    return (experiment in ctx.plan.experiments and experiment not in ctx.plan.skipped
            and arm in ctx.paper["experiments"][experiment]["arms"])


def _tasks(ctx: ReportContext, experiment: str) -> list[str]:
    """The experiment's tasks, in plan order."""
    return list(dict.fromkeys(m.task for m in ctx.plan.experiments[experiment]))


def score_frame(ctx: ReportContext, claims: list[dict]):
    """One row per finished run the claims read: task, arm ("experiment:arm"), pair (the seed), test score x100."""
    rows, seen = [], set()
    for claim in claims:
        check = claim["check"]
        for experiment, base in check.get("pairs", []):
            for arm in (base, check["arm"]):
                if (experiment, arm) in seen or not _runnable(ctx, experiment, arm):
                    continue
                seen.add((experiment, arm))
                for task in _tasks(ctx, experiment):
                    values, seeds = scores(ctx, experiment, task, arm, "test")
                    rows += [(task, f"{experiment}:{arm}", seed, value) for seed, value in zip(seeds, values)]
    return engine.frame(rows)


def _units(ctx: ReportContext, check: dict) -> list[engine.Unit]:
    units = []
    for experiment, base in check["pairs"]:
        if not _runnable(ctx, experiment, check["arm"]):
            continue
        for task in _tasks(ctx, experiment):
            units.append(engine.Unit(task, f"{experiment}:{check['arm']}", f"{experiment}:{base}", task))
    return units


def teacher_premise(ctx: ReportContext, check: dict) -> str | None:
    """KD's premise: knowledge flows "from a bigger model (a teacher) to a smaller model (a student)" (Sec. 1) that
    it outscores (Tables 1-5 print the teacher above every student). Checked on the held-out test split the claims
    read, where neither side chose its checkpoint: on every task, the teacher's mean above the mean of the arm KD is
    compared with. None when it holds (or no teacher ran); else why not, per task."""
    if check["arm"] != "kd":
        return None
    short = []
    for experiment, base in check["pairs"]:
        if not _runnable(ctx, experiment, "kd"):
            continue
        teacher_of = ctx.paper["experiments"][experiment]["arms"]["kd"]["teacher"]
        source = teacher_of["experiment"]
        arm = teacher_of.get("arm") or next(iter(ctx.paper["experiments"][source]["arms"]))
        for task in _tasks(ctx, experiment):
            teacher, student = scores(ctx, source, task, arm, "test")[0], scores(ctx, experiment, task, base, "test")[0]
            if len(teacher) and len(student) and teacher.mean() <= student.mean():
                short.append(f"{task}: teacher {teacher.mean():.1f} vs {base} {student.mean():.1f} on test")
    return f"the teacher does not beat its student ({'; '.join(short)})" if short else None


def decisions(ctx: ReportContext) -> tuple[list[dict], list]:
    """The engine's claims (all but Table 8's pattern) and their decisions, cached per build."""
    if "labelreg_decisions" not in ctx.memo:
        claims = [c for c in ctx.published["claims"] if c["check"]["kind"] != "table8"]
        scores_ = engine.cells(score_frame(ctx, claims))
        results = []
        for claim in claims:
            units = _units(ctx, claim["check"])
            tasks = {u.task for u in units}
            shape = engine.Shape.from_yaml(claim["shape"])
            results.append(engine.evaluate(claim["id"], shape, scores_, units,
                                           resolutions={t: resolution(ctx, t) for t in tasks},
                                           baselines={t: degenerate_threshold(ctx, t) for t in tasks}, seed=SEED,
                                           premise=teacher_premise(ctx, claim["check"])))
        ctx.memo["labelreg_decisions"] = (claims, engine.decide(results))
        ctx.memo["labelreg_results"] = {c["id"]: r for c, r in zip(claims, results)}
    return ctx.memo["labelreg_decisions"]


def _hours_per_pair(ctx: ReportContext, claim: dict) -> float:
    """One more pair of every comparison: two arms a task, each run at the mean duration of the experiment's
    finished trials (an experiment without finished runs has no duration yet: left out; NaN when none has)."""
    experiments = [e for e, _ in claim["check"]["pairs"] if _runnable(ctx, e, claim["check"]["arm"])]
    hours = [hours_per_trial(ctx, e) * 2 * len({m.task for m in ctx.plan.experiments[e]}) for e in experiments]
    known = [h for h in hours if np.isfinite(h)]
    return float(sum(known)) if known else float("nan")


def verdicts(ctx: ReportContext) -> list[dict]:
    claims, decided = decisions(ctx)
    by_id = {c["id"]: (c, d) for c, d in zip(claims, decided)}
    out = []
    for claim in ctx.published["claims"]:
        statement = f"{claim['statement']} ({claim['section']})"
        if claim["check"]["kind"] == "table8":
            out.append({"id": claim["id"], "statement": statement, **table8_verdict(ctx, claim["check"])})
        else:
            c, d = by_id[claim["id"]]
            out.append({"id": claim["id"], "statement": statement, "verdict": d.verdict,
                        "p": d.p, "p_adjusted": d.p_adjusted,
                        "effect": d.effect, "pairs": d.pairs, "power": d.power,
                        "exploratory": d.exploratory, **needs(d, _hours_per_pair(ctx, c)),
                        "result": ctx.memo["labelreg_results"][claim["id"]]})
    return out


def table8_verdict(ctx: ReportContext, check: dict) -> dict:
    """Table 8's pattern: two-sided p >= .05 for pre-trained students and < .05 from scratch, base vs each arm
    on the task's test accuracy, paired by seed, on the accuracy's resolution (ties exact)."""
    cells, reasons = [], []
    step = resolution(ctx, check["task"]) if any(_runnable(ctx, e, b) for e, b in
                                                 (check["pretrained"], check["scratch"])) else None
    for arm in check["arms"]:
        for (experiment, base), significant in ((check["pretrained"], False), (check["scratch"], True)):
            if experiment not in ctx.plan.experiments or experiment in ctx.plan.skipped:
                reasons.append(f"{experiment} not run")
                continue
            frame = engine.frame([(check["task"], a, seed, v) for a in (arm, base)
                                  for v, seed in zip(*scores(ctx, experiment, check["task"], a, "test"))])
            better, worse = engine.paired(frame, check["task"], arm, base, step)
            if len(better) < 2:
                reasons.append(f"{experiment} {arm}: fewer than 2 paired seeds")
                continue
            test = tests.wilcoxon_paired(better, worse)
            if significant and tests.smallest_p(test.n) >= tests.ALPHA:
                reasons.append(f"{experiment} {arm}: {test.n} untied pairs cannot reach p < {tests.ALPHA} two-sided")
                continue
            cells.append((experiment, arm, test.pvalue, (test.pvalue < tests.ALPHA) == significant))
    if reasons:
        kind = tests.NOT_RUN if all("not run" in r for r in reasons) and not cells else tests.COULD_NOT_TELL
        return {"verdict": kind, "reason": "; ".join(reasons)}
    held = all(ok for *_, ok in cells)
    detail = "; ".join(f"{e} {a}: p {p:.3g}" for e, a, p, _ in cells)
    return {"verdict": tests.REPRODUCED if held else tests.NOT_REPRODUCED,
            "reason": f"the paper's own test (exact two-sided Wilcoxon, mid-ranks), not in Holm's family: {detail}"}


METHOD = ("Paired by seed on the test split's counts of correct examples. Gains: exact one-sided sign-flip tests "
          "per task, every task by intersection-union (the largest p). No gain: non-inferiority within the claim's "
          "margin on every task; a gain significantly over the margin (Holm over tasks) refutes it. A "
          "non-significant result reads "
          "\"not reproduced\" only with at least 80% power at the paper's effect (its Tables 7 and 9), else "
          "\"could not tell\" with the pairs it needs. A task where most runs of an arm sit at the majority "
          "baseline is left out. A KD claim needs its premise, a teacher above the student it is compared with on "
          "every task's test mean; without it the claim reads \"could not tell\". p in brackets: Holm-adjusted "
          "over the report's claims. Effect: mean paired difference in points with its 95% t interval. Draws: seed "
          f"{SEED}.")


def section_claims(ctx: ReportContext) -> str:
    return engine_claims_section(ctx, verdicts(ctx), METHOD)


__all__ = ["ROW_NAMES", "verdicts", "section_claims"]
