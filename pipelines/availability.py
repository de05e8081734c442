"""Which planned trials can run here. A task whose files are not shipped offline (QNLI train, QQP, MNLI) or a
model without a local checkpoint (BERT-large, XLNet, ...) needs the hub; when it is unreachable the trial is
planned but not run, and the report says why. A shipped file that is missing or corrupted is an error instead
(preflight), because then the assets themselves are broken."""
from __future__ import annotations

from trainers import assets
from trainers.glue import files_for
from trainers.loop import TrainConfig


def missing_data(task: str) -> str | None:
    absent = [f for f in files_for(task) if not assets.shipped(f)]
    if absent and not assets.hub_reachable():
        return f"{', '.join(absent)} not in the offline assets and the hub is unreachable"
    return None


def missing_model(model: str) -> str | None:
    root = assets.assets_root()
    if root is not None and (root / "models" / model).is_dir():
        return None
    if assets.hub_reachable():
        return None
    return f"checkpoint {model} not in the offline assets and the hub is unreachable"


def reason(cfg: TrainConfig) -> str | None:
    """Why this trial cannot run here, or None when it can."""
    for task in filter(None, (cfg.task, cfg.intermediate)):
        why = missing_data(task)
        if why:
            return why
    return missing_model(cfg.model)
