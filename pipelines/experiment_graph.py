"""How a paper's experiments depend on each other: settings chosen by another experiment ({selected: EXP}) or by
its ASHA search ({searched: EXP}), teacher trials ({teacher: {experiment: EXP}}), and the stages these make."""
from __future__ import annotations

from pipelines.config_errors import ConfigError
from trainers.settings import SETTINGS

# dict values that name another trial (a teacher: the planner resolves it), not a stage's choice
REFERENCE_SETTINGS = {name for name, s in SETTINGS.items() if s.reach is None}
SEARCH_PREFIX = "search:"  # a {searched: EXP} source: EXP's ASHA search result, not its runs


def source_key(value: dict) -> str:
    """Where a {selected: ...} / {searched: ...} setting takes its value from, as a choices key."""
    return value["selected"] if "selected" in value else SEARCH_PREFIX + value["searched"]


def references(exp: dict, searches: bool = True) -> list[tuple[str, str, str]]:
    """(arm, source, source arm) for every {selected: ...} (and, with ``searches``, {searched: ...}) setting."""
    return [(arm, source_key(v), v.get("arm", arm)) for arm, settings in exp["arms"].items()
            for k, v in settings.items()
            if isinstance(v, dict) and k not in REFERENCE_SETTINGS and (searches or "selected" in v)]


def stage_depth(experiments: dict, name: str, seen: tuple = ()) -> int:
    """0 for an experiment planned from the config alone; 1 + its sources' depth when it selects from others
    (a search result is made outside the study: it adds no stage)."""
    if name in seen:
        raise ConfigError(f"experiments {' -> '.join(seen + (name,))}: selections form a cycle")
    sources = {source for _, source, _ in references(experiments[name], searches=False)}
    return max((1 + stage_depth(experiments, s, seen + (name,)) for s in sources), default=0)


def teacher_ref(ref: dict, own: str, experiments: dict) -> tuple[str, str]:
    """(experiment, arm) a validated teacher reference names."""
    source = ref.get("experiment", own)
    return source, ref.get("arm", next(iter(experiments[source]["arms"])))


def teacher_sources(exp: dict, own: str) -> set[str]:
    """The experiments whose trials teach this one's (planned in the same stage, run before it)."""
    refs = [s["teacher"] for s in [exp.get("settings") or {}, *exp["arms"].values()] if "teacher" in s]
    return {r.get("experiment", own) for r in refs} - {own}
