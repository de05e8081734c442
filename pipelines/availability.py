"""Which planned trials can run here. A task whose files are not shipped offline (QNLI train, QQP, MNLI) or a
model without a local checkpoint (BERT-large, XLNet, ...) needs the hub; when it is off or unreachable the trial is
planned but not run, and the report says why. A shipped file that is missing or corrupted is an error instead
(preflight), because then the assets themselves are broken."""
from __future__ import annotations

from trainers import assets
from trainers.tasks import files_for
from trainers.config import TrainConfig


def missing_data(task: str) -> str | None:
    absent = [f for f in files_for(task) if not assets.shipped(f)]
    if absent and not assets.hub_reachable():
        return f"{', '.join(absent)} not in the offline assets and {assets.no_hub()}"
    return None


def missing_model(model: str) -> str | None:
    root = assets.assets_root()
    if root is not None and (root / "models" / model).is_dir():
        return None
    if assets.hub_reachable():
        return None
    return f"checkpoint {model} not in {assets.models_folder()} and {assets.no_hub()}"


def reason(cfg: TrainConfig) -> str | None:
    """Why this trial cannot run here, or None when it can."""
    for task in filter(None, (cfg.task, cfg.intermediate)):
        why = missing_data(task)
        if why:
            return why
    return missing_model(cfg.model)


def taught_by(specs, why: dict[str, str | None]) -> dict[str, str | None]:
    """``why`` (trial id -> reason or None) with every trial whose teacher cannot run marked as not runnable too."""
    specs = list(specs)
    names = {s.trial_id: s.name for s in specs}
    out = dict(why)
    for spec in specs:
        teacher = next((t for t in spec.config.teachers if out.get(t)), None)
        if teacher and not out.get(spec.trial_id):
            out[spec.trial_id] = f"its teacher {names.get(teacher, teacher)} cannot run: {out[teacher]}"
    return out


def blocked(specs) -> dict[str, str | None]:
    """reason() of every trial, a trial whose teacher cannot run included."""
    specs = list(specs)
    return taught_by(specs, {s.trial_id: reason(s.config) for s in specs})
