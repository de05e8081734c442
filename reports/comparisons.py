"""Paired comparisons behind a claim verdict, shared by the papers' claims modules: per comparison its signal
reason or its one-sided paired-t p (with the exact Wilcoxon test as a check), and the power rule that keeps a
non-significant gain from reading as "not reproduced" when the seeds could not have seen the paper's gain."""
from __future__ import annotations

import numpy as np

from analysis import claims as tests
from reports.kit import degenerate_threshold


class Comparisons:
    """The paired comparisons of one claim, by task (or arm): each one's signal reason, or its one-sided paired-t
    p, the Wilcoxon check and its differences; and the paper's gain there (paper_gain), for the power rule."""

    def __init__(self, ctx):
        self.ctx = ctx  # kept for callers; the comparisons need only their scores and baselines
        self.pvalues, self.reasons, self.checks, self.diffs, self.expected = {}, {}, {}, {}, {}

    def add(self, label: str, better, worse, task: str, expected: float | None = None,
            baseline: float | None = None) -> None:
        """One paired comparison; ``baseline`` (default: the task's majority class, kit.degenerate_threshold) is
        the score at or below which a run learnt nothing."""
        better, worse = np.asarray(better, float), np.asarray(worse, float)
        if baseline is None and len(better):
            baseline = degenerate_threshold(self.ctx, task)
        reason = tests.signal([better, worse], baseline if len(better) else None)
        self.reasons[label], self.expected[label] = reason, expected
        if reason is None:
            self.pvalues[label] = tests.paired_t(better, worse, alternative="greater")
            self.checks[label] = tests.wilcoxon_paired(better, worse, alternative="greater").pvalue
            self.diffs[label] = better - worse

    def verdict(self) -> dict:
        """Fisher-combined verdict, with the power rule: a gain that is not significant is "not reproduced" only
        when it points the other way significantly or the test could have seen the paper's gain
        (tests.detectable_gain at 80% power) on some comparison; otherwise "could not tell"."""
        runs = [len(d) for d in self.diffs.values()]
        result = tests.verdict(self.pvalues, self.reasons, True, seeds=min(runs) if runs else None)
        verdict, reason = result.verdict, result.reason
        if verdict == tests.NOT_REPRODUCED:
            other_way = tests.combine([1.0 - p for p in self.pvalues.values()])
            seen = {k: tests.detectable_gain(d) for k, d in self.diffs.items()}
            wanted = {k: self.expected.get(k) for k in seen}
            if other_way < tests.ALPHA:
                reason += f"; the other way: combined p {other_way:.3g}"
            elif all(wanted[k] is None or seen[k] > wanted[k] for k in seen):
                verdict = tests.COULD_NOT_TELL
                reason = ("too few seeds to see the paper's gain: " + ", ".join(
                    f"{k} detects ≥ {seen[k]:.2f} points, the paper's would be "
                    + ("unknown" if wanted[k] is None else f"{wanted[k]:.2f}") for k in seen) + f" ({reason})")
        detail = ", ".join(f"{k} {p:.3g}" for k, p in self.pvalues.items())
        if self.pvalues:
            reason += (f" (one-sided paired-t p per comparison: {detail}; Wilcoxon check, combined p "
                       f"{tests.combine(self.checks.values()):.3g})")
        return {"verdict": verdict, "reason": reason}


def all_of(parts: list[tuple[str, dict]]) -> dict:
    """A claim made of several comparisons (arms, steps) holds when each does; the reasons side by side."""
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
