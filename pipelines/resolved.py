"""A paper's view of a profile, resolved from suite.yaml: the paper's protocol, the profile's scale and its section
for the paper; and the tasks an experiment trains at it."""
from __future__ import annotations


def resolve_profile(profile: dict, paper_name: str, paper: dict) -> dict:
    """One paper's view of a profile: its defaults, then the profile's keys, then the profile's section for the
    paper. Seeds: the paper's sets, each cut to the profile's count (``seeds``: counts; ``seed_lists``: the seeds)."""
    section = (profile.get("papers") or {}).get(paper_name) or {}
    merged = {**paper.get("defaults", {}), **{k: v for k, v in profile.items() if k != "papers"}, **section}
    merged.setdefault("tasks", None)
    merged.setdefault("grids", {})
    merged.setdefault("skip", {})
    sets = paper["seeds"]
    counts = {k: len(v) if isinstance(v, list) else v for k, v in sets.items()}
    counts.update(section.get("seeds") or {})
    merged["seeds"] = counts
    merged["seed_lists"] = {k: sets[k][:n] if isinstance(sets[k], list) else list(range(1, n + 1))
                            for k, n in counts.items()}
    return merged


def stand_in(profile: dict, name: str, task: str) -> str:
    """The task a resolved profile trains for a paper's task in experiment ``name``: its stand-in for that experiment
    (`stand_ins: {EXPERIMENT.TASK: ...}`), else for the paper (`{TASK: ...}`, e.g. AG -> AG-proxy), else the task."""
    stand = profile.get("stand_ins") or {}
    return stand.get(f"{name}.{task}", stand.get(task, task))


def profile_tasks(profile: dict, name: str, exp: dict) -> list[str]:
    """The registry tasks experiment ``name`` trains at a resolved profile: its tasks that the profile keeps
    (`tasks`, in paper names), each replaced by its offline stand-in (stand_in)."""
    return [stand_in(profile, name, t) for t in exp["tasks"] if profile["tasks"] is None or t in profile["tasks"]]
