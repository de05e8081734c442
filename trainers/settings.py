"""suite.yaml's arm settings, one declaration each: its name, the check of one value (and the words an error gives),
the trainer kinds that accept it, and how it reaches the trainer (the TrainConfig fields a value sets).

Config validation (pipelines.validation), the planner's mapping into TrainConfig (pipelines.plan) and the multitask
trainer's refusal of single-task fields all read SETTINGS, so a new method setting is its declaration here, its
TrainConfig field and the trainer code that uses it. An objective's settings are declared in its own file
(trainers.objectives) and the multitask trainer's in trainers.multitask.settings; both join SETTINGS below.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from trainers import objectives
from trainers.callbacks import SELF_TEACHERS
from trainers.config import PRECISIONS
from trainers.multitask import settings as multitask
from trainers.objectives import MULTITASK, SINGLE_TASK
from trainers.optim import OPTIMIZERS
from trainers.tasks import TASKS, get_task

BOTH = (SINGLE_TASK, MULTITASK)


@dataclass(frozen=True)
class Trial:
    """What a setting may read besides its value: the task, the profile's model roles, the paper's recipes."""
    task: str
    roles: dict
    recipes: dict


@dataclass(frozen=True)
class ArmSetting:
    name: str
    check: Callable[[Any], bool]  # one value (a grid checks each of its values)
    expected: str  # words for error messages, e.g. "a number in (0, 1)"
    kinds: tuple[str, ...]  # the trainer kinds that accept it
    # reach(fields, value, trial): writes the TrainConfig fields the value decides into ``fields`` (the config's
    # keyword arguments, the profile's values already there); None: the planner resolves it (a teacher trial)
    reach: Callable[[dict, Any, Trial], None] | None
    fields: tuple[str, ...] = ()  # the TrainConfig fields it sets, each at its default when the setting is absent


def number(low=None, high=None, integer=False, allow_none=False) -> Callable[[Any], bool]:
    """A check for a number in the open interval (low, high), or an integer; None too with ``allow_none``."""
    def check(value):
        if value is None:
            return allow_none
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            return False
        return (low is None or value > low) and (high is None or value < high)
    return check


def _field(name: str, check, expected: str, convert=lambda v: v, kinds=BOTH) -> ArmSetting:
    """A setting that sets the TrainConfig field of its own name."""
    def reach(fields, value, trial):
        fields[name] = convert(value)
    return ArmSetting(name, check, expected, kinds, reach, (name,))


def _grouped(name: str, check, expected: str, group: str, kinds) -> ArmSetting:
    """A setting kept with others of its kind as sorted (name, value) pairs in one field (objective_args)."""
    def reach(fields, value, trial):
        fields[group] = tuple(sorted((*fields.get(group, ()), (name, value))))
    return ArmSetting(name, check, expected, kinds, reach, (group,))


def _reinit(fields, value, trial):
    fields.update(reinit_pooler=True, reinit_layers=value if isinstance(value, int) else 0)


def _train_examples(fields, value, trial):  # the smaller of the profile's cap and the arm's sample
    fields["train_examples"] = min(fields["train_examples"], value) if fields["train_examples"] else value


def _full_train(fields, value, trial):
    fields["full_train"] = bool(value)
    if value:
        fields["train_examples"] = None


def _split(fields, value, trial):  # GLUE's large tasks only; a small task's dev is already halved
    fields["dev_halves"] = value == "dev_halves" and get_task(trial.task).recipe == "large"


def _model(fields, value, trial):
    # a model role of the profile: the teacher or the student of a distillation study (a profile that skips an
    # experiment need not give its roles: its stand-in trials keep the role's name)
    role = trial.roles.get(value, {"model": value})
    fields.update(model=role["model"], num_layers=role.get("num_layers"))


def _recipe(fields, value, trial):  # Table 6: the model's own hyperparameters replace the profile's
    recipe = trial.recipes[value]
    hp = recipe["tasks"][trial.task]
    fields.update(model=recipe["model"], lr=float(hp["lr"]), batch_size=hp["batch_size"],
                  epochs=float(hp.get("epochs", fields["epochs"])), max_steps=hp.get("max_steps"),
                  warmup_steps=hp.get("warmup_steps"), warmup_ratio=float(hp.get("warmup_ratio", 0.0)),
                  llrd=hp.get("llrd", fields.get("llrd")))


def _lr_scale(fields, value, trial):
    fields["lr"] *= float(value)


def _objective_setting(name: str) -> ArmSetting:
    accepts = [o.settings[name].check for o in objectives.OBJECTIVES.values() if name in o.settings]
    return _grouped(name, lambda v: any(check(v) for check in accepts), "a value one of the objectives accepts",
                    "objective_args", BOTH)


# Applied in this order: a model role, then a recipe, replace the profile's model and hyperparameters, and lr_scale
# scales the lr they leave.
_DECLARED = [
    _field("optimizer", lambda v: v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    _field("lr", number(0), "a positive number (replaces the profile's lr)", float),
    _field("batch_size", number(0, integer=True), "a positive integer (replaces the profile's batch size)"),
    _field("weight_decay", number(-1e-12, 1), "a number in [0, 1)", float),
    _field("precision", lambda v: v in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
    ArmSetting("train_examples", number(0, integer=True), "a positive integer", BOTH, _train_examples),
    # the single-task trainer's methods (revisiting Sec. 7.1 and Longer)
    _field("max_steps", number(0, integer=True, allow_none=True), "null (the profile's epochs) or a positive integer",
           kinds=(SINGLE_TASK,)),
    _field("llrd", number(0, 1.0000001), "a number in (0, 1]", kinds=(SINGLE_TASK,)),
    _field("mixout", number(0, 1), "a number in (0, 1)", float, (SINGLE_TASK,)),
    _field("pretrained_wd", number(0), "a positive number", float, (SINGLE_TASK,)),
    _field("intermediate", lambda v: v in TASKS, f"a task ({', '.join(TASKS)})", kinds=(SINGLE_TASK,)),
    ArmSetting("reinit", lambda v: v == "pooler" or number(0, integer=True)(v), "pooler or an integer L >= 1",
               (SINGLE_TASK,), _reinit, ("reinit_layers", "reinit_pooler")),
    _field("random_init", lambda v: isinstance(v, bool), "true or false", bool, (SINGLE_TASK,)),  # Kobyzev et al.
    ArmSetting("full_train", lambda v: isinstance(v, bool), "true or false", (SINGLE_TASK,), _full_train,
               ("full_train",)),
    ArmSetting("split", lambda v: v == "dev_halves", "dev_halves (large tasks: the whole train file, dev halved into "
                                                     "validation and test)", (SINGLE_TASK,), _split, ("dev_halves",)),
    # Kobyzev et al.: the loss (trainers.objectives) and its settings
    _field("objective", lambda v: v in objectives.OBJECTIVES, f"one of {', '.join(objectives.OBJECTIVES)}"),
    *(_objective_setting(name) for name in sorted(objectives.setting_names())),
    # a trial reference, checked and resolved by pipelines.validation._check_teacher and pipelines.plan.Teachers
    ArmSetting("teacher", lambda v: False, "{experiment: NAME, arm: ARM, members: N}", BOTH, None, ("teacher",)),
    # Xu et al. 2020: the head's own lr, the run's own teacher (sda/sdv over K steps), SE/VOTE/AVG outputs
    _field("head_lr", number(0), "a positive number (the new classifier layer's lr)", float),
    _field("self_teacher", lambda v: v in SELF_TEACHERS, f"one of {', '.join(SELF_TEACHERS)}", kinds=(SINGLE_TASK,)),
    _field("teacher_k", lambda v: v == "all" or number(0, integer=True)(v), "a positive integer K, or all (K = T-1)",
           lambda v: None if v == "all" else v, (SINGLE_TASK,)),
    _field("ensemble_outputs", lambda v: isinstance(v, bool), "true or false", bool),
    # the CS224N minBERT reports: the multitask trainer's schedule, heads and methods (trainers.multitask.settings)
    *(_grouped(name, s.check, s.expected, "multitask_args", (MULTITASK,)) for name, s in multitask.SETTINGS.items()),
    # last, in this order (see above)
    ArmSetting("model", lambda v: isinstance(v, str), "a model role of the profile (its `models`), e.g. teacher",
               BOTH, _model),
    ArmSetting("recipe", lambda v: isinstance(v, str), "a recipe name under the paper's recipes", BOTH, _recipe),
    ArmSetting("lr_scale", number(0), "a positive number", BOTH, _lr_scale),
]


def _registry(declared: list[ArmSetting]) -> dict[str, ArmSetting]:
    found: dict[str, ArmSetting] = {}
    for setting in declared:
        if setting.name in found:
            raise ValueError(f"arm setting {setting.name!r} declared twice")
        found[setting.name] = setting
    return found


SETTINGS: dict[str, ArmSetting] = _registry(_DECLARED)


def only(kind: str) -> list[str]:
    """The settings that only a trainer kind accepts, in declaration order."""
    return [name for name, s in SETTINGS.items() if s.kinds == (kind,)]


def only_fields(kind: str) -> list[str]:
    """The TrainConfig fields that only settings of a trainer kind set: another kind's run leaves them at their
    defaults."""
    return [f for name in only(kind) for f in SETTINGS[name].fields]


def reach(fields: dict, values: dict, trial: Trial) -> dict:
    """``fields`` (a TrainConfig's keyword arguments from the profile) with an arm's settings ``values`` applied in
    declaration order; a setting absent from ``values`` leaves its fields as they are."""
    fields = dict(fields)
    for name, setting in SETTINGS.items():
        if name in values and setting.reach is not None:
            setting.reach(fields, values[name], trial)
    return fields
