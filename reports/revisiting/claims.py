"""Claim verdicts for Zhang et al., as reports/published/revisiting.yaml declares them (`shape:` per claim). Every
comparison is on the small tasks the profile plans, paired by seed (Tables 1 and 2 and Figure 2 draw the same seeds
1..n, init seed = data seed, for every arm), on the test split's counts of correct examples where the metric is an
accuracy; the claims engine (analysis.engine) picks the test from the shape, applies the power rule at the paper's
effect and Holm's correction across the report's claims. Two things only this paper needs: a Longer arm whose
search chose 3 epochs is left out (it is the 3-epoch arm: no longer training to compare), and Sec. 6's narrowing gap
is a gain of a synthetic paired quantity, per seed (Re-init - Standard at 3 epochs) - (Re-init - Standard after
Longer), whose four arms are checked against the majority baseline here (the engine sees only the gaps)."""
from __future__ import annotations

import dataclasses

from analysis import claims as tests
from analysis import engine
from reports.build import ReportContext
from reports.kit import (SEED, chosen, degenerate_threshold, engine_claims_section, hours_per_trial,
                         needs, not_run, pct, resolution)
from reports.revisiting.common import SMALL_TASKS
from reports.revisiting.tables import Cell, table1_groups, table2_values

NAMES = {"weight_decay": "WD", "pretrained_wd": "PWD"}  # unit labels of multi-arm claims: short, for the PDF table


def leaves(ref: str) -> list[tuple[str, str]]:
    """The (experiment, arm) runs behind an arm reference of the YAML's `check.pairs`: "EXPERIMENT:ARM",
    "table1:METHOD:COLUMN", "table2:COLUMN" (Re-init and Longer are Table 1's cells, as in the paper) or
    "gap:COLUMN" (Re-init and Standard of that Table 1 column)."""
    kind, *rest = ref.split(":")
    column = {"3ep": "reinit", "longer": "longer"}
    if kind == "table1":
        return [(column[rest[1]], rest[0])]
    if kind == "table2":
        return {"reinit": [("reinit", "reinit")], "longer": [("longer", "standard")]}.get(rest[0],
                                                                                        [("methods", rest[0])])
    if kind == "gap":
        return [(column[rest[0]], "reinit"), (column[rest[0]], "standard")]
    return [(kind, rest[0])]


def cell(ctx: ReportContext, ref: str, task: str) -> Cell:
    """The runs of one plain arm reference (not a gap) on one task: the cell its table prints, with seeds."""
    kind, *rest = ref.split(":")
    if kind in ("table1", "table2"):
        tables = ctx.memo.setdefault("revisiting_tables", {})
        if (kind, task) not in tables:  # a table's cells are chosen together: once per task
            tables[(kind, task)] = (table1_groups if kind == "table1" else table2_values)(ctx, task)
        return tables[(kind, task)][tuple(rest) if kind == "table1" else rest[0]]
    rows, choice = chosen(ctx, kind, task, rest[0])
    return Cell(pct(rows["test_at_best_val"]), choice, not_run(ctx, kind, task, rest[0]),
                [(int(i), int(d)) for i, d in zip(rows["init_seed"], rows["data_seed"])])


def _cells(ctx: ReportContext, ref: str, task: str) -> Cell:
    memo = ctx.memo.setdefault("revisiting_cells", {})
    if (ref, task) not in memo:
        memo[(ref, task)] = cell(ctx, ref, task)
    return memo[(ref, task)]


def _pair(seed: tuple[int, int]) -> str:
    return f"{seed[0]}/{seed[1]}"


def _is_longer(ref: str) -> bool:
    return ref.startswith("table1:") and ref.endswith(":longer") or ref == "table2:longer"


def _gap_refs(column: str) -> list[str]:
    """The plain references a gap in one Table 1 column is made of: Re-init, then Standard."""
    return [f"table1:reinit:{column}", f"table1:standard:{column}"]


def tasks(ctx: ReportContext) -> list[str]:
    """The small tasks the profile plans for this paper."""
    kept = ctx.profile.get("tasks")
    return [t for t in SMALL_TASKS if kept is None or t in kept]


class Scores:
    """Every run the claims read, as one engine score frame (task, arm reference, seed pair, test score x100), the
    tasks' resolutions and majority baselines, and why a reference cannot stand for its claim on a task."""

    def __init__(self, ctx: ReportContext, claims: list[dict]):
        self.ctx, self.tasks = ctx, tasks(ctx)
        refs = list(dict.fromkeys(r for c in claims for pair in c["check"]["pairs"] for r in pair))
        rows = []
        for task in self.tasks:
            for ref in refs:
                if ref.startswith("gap:"):
                    rows += [(task, ref, k, v) for k, v in self._gap(ref.split(":")[1], task).items()]
                else:
                    c = _cells(ctx, ref, task)
                    rows += [(task, ref, _pair(s), v) for s, v in zip(c.seeds, c.scores)]
        self.index = engine.cells(engine.frame(rows))
        has_runs = {t for t, _ in self.index}
        self.resolutions = {t: resolution(ctx, t) for t in self.tasks if t in has_runs}
        self.baselines = {t: degenerate_threshold(ctx, t) for t in self.tasks if t in has_runs}

    def _gap(self, column: str, task: str) -> dict:
        """{pair: Re-init - Standard} in one Table 1 column, on the metric's resolution (a whole number of steps)."""
        (r, s) = [_cells(self.ctx, ref, task) for ref in _gap_refs(column)]
        step = resolution(self.ctx, task) if len(r.scores) and len(s.scores) else None
        a = dict(zip(map(_pair, r.seeds), engine.on_resolution(r.scores, step)))
        b = dict(zip(map(_pair, s.seeds), engine.on_resolution(s.scores, step)))
        return {k: a[k] - b[k] for k in a if k in b}

    def absent(self, ref: str, task: str) -> str | None:
        """Why ``ref`` cannot stand for what its claim compares on ``task`` (None: it can): a Longer arm whose
        search chose 3 epochs; for a gap, one of its two paired comparisons without signal (engine.no_signal)."""
        plain = _gap_refs(ref.split(":")[1]) if ref.startswith("gap:") else [ref]
        for p in plain:
            c = _cells(self.ctx, p, task)
            if _is_longer(p) and len(c.scores) and c.choice.get("max_steps", 0) is None:
                method = "Standard" if p in ("table2:longer", "table1:standard:longer") else "Re-init"
                return f"the Longer search chose 3 epochs for {method}: no longer training to compare"
        if ref.startswith("gap:") and task in self.baselines:
            r, s = [_cells(self.ctx, p, task) for p in plain]
            frame = engine.frame([(task, "r", _pair(k), v) for k, v in zip(r.seeds, r.scores)] +
                                 [(task, "s", _pair(k), v) for k, v in zip(s.seeds, s.scores)])
            why = engine.no_signal(*engine.paired(frame, task, "r", "s", self.resolutions.get(task)),
                                   self.baselines[task])
            if why and why != "no finished pairs":
                return f"{ref.split(':')[1]} Re-init vs Standard: {why}"
        return None


def _units(claim: dict, task_list: list[str]) -> list[engine.Unit]:
    pairs = claim["check"]["pairs"]
    return [engine.Unit(task, better, worse,
                        task if len(pairs) == 1 else f"{task} {NAMES.get(better.split(':')[-1], better)}")
            for task in task_list for better, worse in pairs]


def evaluate(scores: Scores, claim: dict) -> engine.Result:
    """One claim's engine result; units whose arm cannot stand for the claim (`Scores.absent`) are left out with
    their reason, the others tested as the shape says."""
    shape = engine.Shape.from_yaml(claim["shape"])
    units = _units(claim, scores.tasks)
    dead = {}
    for u in units:
        if shape.kind == "fewer_degenerate" and u.task not in scores.baselines:
            why = "no finished runs"  # the task ran nothing here: no test split to read a baseline from
        else:
            why = scores.absent(u.better, u.task) or scores.absent(u.worse, u.task)
        if why:
            dead[u.label] = why
    synthetic = any(r.startswith("gap:") for pair in claim["check"]["pairs"] for r in pair)
    live = [u for u in units if u.label not in dead]
    result = engine.evaluate(claim["id"], shape, scores.index, live, resolutions=scores.resolutions,
                             baselines={} if synthetic else scores.baselines, seed=SEED)
    if not dead:
        return result
    nan = float("nan")
    gone = [engine.Test(u, nan, nan, nan, nan, len(engine.paired(scores.index, u.task, u.better, u.worse)[0]), nan,
                        reason=dead[u.label]) for u in units if u.label in dead]
    order = {u.label: i for i, u in enumerate(units)}
    ordered = sorted([*result.tests, *gone], key=lambda t: order.get(t.unit.label.split(" = ")[0], len(order)))
    left = {**result.left_out, **dead}
    left = {k: left[k] for k in sorted(left, key=lambda k: order.get(k.split(" = ")[0], len(order)))}
    return dataclasses.replace(result, tests=tuple(ordered), left_out=left)


def decisions(ctx: ReportContext) -> tuple[list[dict], list[engine.Decision]]:
    """Every claim and its decision (Holm across them), cached per build."""
    if "revisiting_decisions" not in ctx.memo:
        claims = ctx.published["claims"]
        scores = Scores(ctx, claims)
        results = [evaluate(scores, c) for c in claims]
        ctx.memo["revisiting_decisions"] = (claims, engine.decide(results), results)
    return ctx.memo["revisiting_decisions"][:2]


def _experiments(claim: dict) -> list[str]:
    return list(dict.fromkeys(e for pair in claim["check"]["pairs"] for ref in pair for e, _ in leaves(ref)))


def _hours_per_pair(ctx: ReportContext, claim: dict) -> float:
    """One more pair on every task: every run behind the claim's arms (a gap is two), each at the mean duration
    of its experiment's finished trials."""
    runs = dict.fromkeys(leaf for pair in claim["check"]["pairs"] for ref in pair for leaf in leaves(ref))
    return sum(hours_per_trial(ctx, e) for e, _ in runs) * len(tasks(ctx))


def verdicts(ctx: ReportContext) -> list[dict]:
    """One dict per claim of the published yaml, in its order: id, section, statement (with its section), verdict
    (one of analysis.claims.VERDICTS), reason, p, p_adjusted (Holm), effect, pairs, power, exploratory,
    pairs_needed and hours_needed (the power rule's estimate for an undecided claim)."""
    claims, decided = decisions(ctx)
    out = []
    for claim, d, result in zip(claims, decided, ctx.memo["revisiting_decisions"][2]):
        reason = d.reason
        if d.verdict == tests.NOT_RUN:
            why = "; ".join(dict.fromkeys(f"{e}: {not_run(ctx, e)}" for e in _experiments(claim)))
            reason = f"{reason} ({why})"
        out.append({"id": claim["id"], "section": claim["section"],
                    "statement": f"{claim['statement']} ({claim['section']})", "verdict": d.verdict,
                    "p": d.p, "p_adjusted": d.p_adjusted, "effect": d.effect, "pairs": d.pairs, "power": d.power,
                    "exploratory": d.exploratory, **needs(dataclasses.replace(d, reason=reason),
                                                          _hours_per_pair(ctx, claim)),
                    "result": result})
    return out


TESTS = {  # what each kind's test is (analysis.engine), for the method paragraph
    "gain": "exact one-sided sign-flip permutation test of the mean paired difference (all 2^n sign vectors up to "
            f"{engine.EXACT_PAIRS} pairs, {engine.RESAMPLES:,} Monte Carlo vectors beyond)",
    "no_gain": "non-inferiority: a sign-flip test that the mean paired gain is below the margin (with "
               "equivalence: two one-sided tests within it); a gain significantly over the margin after Holm over the "
               "comparisons refutes it",
    "ordering": "a gain test for each adjacent pair of arms",
    "lower_spread": "sign-flip test of the paired absolute deviations from each arm's median (Brown-Forsythe); "
                    "effect: the other arm's sd over this arm's",
    "fewer_degenerate": "Boschloo's exact test on the runs at or below the majority baseline of our test split; "
                        "effect: runs fewer",
    "better_worst": "permutation test of the difference of minima over within-pair swaps; effect: that difference",
}
SCOPES = {"all": "every task", "each": "every task", "pooled": "the tasks pooled", "any": "at least one task"}


def method(claims: list[dict]) -> str:
    """The claims table's method paragraph: each kind's test with the claims that use it, by scope."""
    shapes = [(c["id"], engine.Shape.from_yaml(c["shape"])) for c in claims]
    parts = []
    for kind, test in TESTS.items():
        groups: dict[str, list[str]] = {}
        for i, s in shapes:
            if s.kind == kind:
                where = SCOPES[s.scope] + (f", {s.margin:g}-point margin" if s.margin else "")
                groups.setdefault(where, []).append(i)
        if groups:
            used = "; ".join(f"{', '.join(ids)}: {where}" for where, ids in groups.items())
            parts.append(f"**{kind}** ({used}): {test}.")
    return " ".join([
        "Paired by seed: Tables 1 and 2 and Figure 2 run seeds 1..n (init seed = data seed) in every arm, so a "
        "seed's runs in two arms form a pair; accuracies are compared as counts of correct test examples, F1, "
        "Spearman and Matthews correlation as computed. Tasks: the small datasets the profile plans. Every task: "
        "intersection-union (the claim's p is the largest task's); the tasks pooled: one stratified sign-flip test "
        "of the mean over tasks of each task's mean difference; at least one task: Fisher's method over the tasks "
        "with signal.", *parts,
        "longer_narrows_gap's paired value per seed is (Re-init - Standard at 3 epochs) - (Re-init - Standard after "
        "Longer). WD, PWD: Table 2's weight decay and pre-trained weight decay. A non-significant result reads "
        "\"not reproduced\" only when a comparison goes the other way significantly or the test had at least 80% "
        "power at the paper's effect (Table 1; a one-sided one-sample t-test's power at the observed spread), else "
        "\"could not tell\" with the pairs it would need. Left out of a comparison: a task where most runs of an arm "
        "sit at the majority baseline, and a Longer arm whose search chose 3 epochs. p in brackets: Holm-adjusted "
        "over the report's claims. Effect: mean paired difference in points with its 95% t interval. Draws: seed "
        f"{SEED}. Verdicts hold at this profile's scale only."])


def section_claims(ctx: ReportContext) -> str:
    return engine_claims_section(ctx, verdicts(ctx), method(ctx.published["claims"]))
