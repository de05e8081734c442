"""suite.yaml's validation: every mistake is a ConfigError with a one-line message naming the key and what is valid.
What each arm setting accepts is declared in trainers.settings; which reports exist is the report stage's to check
(reports.check_papers)."""
from __future__ import annotations

import inspect
from pathlib import Path

from pipelines.config_errors import ConfigError, as_text_number, choices, kind_of
from pipelines.experiment_graph import REFERENCE_SETTINGS, SEARCH_PREFIX, references, stage_depth
from pipelines.resolved import Paper, Profile, profile_tasks, resolve_profile
from trainers import objectives
from trainers.batching import BATCHING
from trainers.execution import PROFILE_PRECISIONS
from trainers.objectives import MULTITASK, SINGLE_TASK
from trainers.settings import SETTINGS, number, only
from trainers.tasks import TASKS

TOP_KEYS = {"default_profile", "runs_dir", "profiles", "papers"}
# A paper owns its protocol (papers.<name>.defaults) and seed sets; a profile scales (model, sizes, resources)
# and may override the protocol for every paper or, under profiles.<name>.papers.<paper>, for one paper.
PROTOCOL_KEYS = {"lr", "batch_size", "epochs", "warmup_ratio", "max_grad_norm", "weight_decay", "adam_epsilon",
                 "evaluations"}
SCALE_KEYS = {"model", "num_layers", "max_seq_len", "train_examples", "eval_examples", "retries", "resources", "cost"}
PER_PAPER_KEYS = {"tasks", "seeds", "grids", "skip"}
PROFILE_KEYS = PROTOCOL_KEYS | SCALE_KEYS | PER_PAPER_KEYS | {"description"}  # a paper's resolved profile
PROFILE_OPTIONAL = {"batching", "precision", "task_train_examples", "stand_ins"}
PROFILE_TOP = {"description"} | SCALE_KEYS  # required at profiles.<name>
PROFILE_TOP_OPTIONAL = PROTOCOL_KEYS | PROFILE_OPTIONAL | {"papers"}
# profiles.<name>.papers.<paper>: the scale keys for one paper, and `models`: role -> {model, num_layers}, what an
# experiment's `model: <role>` setting trains (a teacher, a student)
PAPER_SCALE = PROTOCOL_KEYS | SCALE_KEYS | PER_PAPER_KEYS | PROFILE_OPTIONAL | {"models", "description", "looks"}
LOOKS_KEYS = {"pairs", "seed_sets"}  # profiles.<name>.papers.<paper>.looks: BUDGET's looks (pipelines.looks)
MODEL_ROLE_KEYS = {"model", "num_layers", "cost"}
RESOURCE_KEYS = {"cpus_per_trial", "gpus_per_trial"}
COST_KEYS = {"seconds_per_step", "seconds_per_eval_example"}
PAPER_KEYS = {"title", "source", "report", "defaults", "seeds", "experiments"}
PAPER_OPTIONAL = {"recipes"}
EXPERIMENT_KEYS = {"about", "covers", "tasks", "seeds", "arms"}
EXPERIMENT_OPTIONAL = {"select", "settings", "cross_seeds", "init_seed", "search"}
SEARCH_KEYS = {"seeds", "grace_evaluations", "reduction_factor", "samples", "sample_seed", "only", "top", "confirm"}
RECIPE_KEYS = {"lr", "max_steps", "epochs", "batch_size", "warmup_steps", "warmup_ratio", "llrd"}


def _check_keys(where: str, mapping, allowed: set[str], required: bool = True, optional=frozenset()) -> None:
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: expected a mapping, got {kind_of(mapping)}")
    unknown = sorted(set(mapping) - allowed - set(optional))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (valid: {choices(sorted(allowed | set(optional)))})")
    if required:
        missing = sorted(allowed - set(mapping))
        if missing:
            raise ConfigError(f"{where}: missing key {missing[0]!r}")


def _check_tasks(where: str, tasks) -> None:
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError(f"{where}: expected a non-empty list of tasks")
    for task in tasks:
        if not isinstance(task, str) or task not in TASKS:
            raise ConfigError(f"{where}: unknown task {task!r} (valid: {choices(TASKS)})")


def _positive(where: str, value, kind=(int, float), allow_none=False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        what = "a positive integer" if kind is int else "a positive number"
        raise ConfigError(f"{where}: expected {what}{' or null' if allow_none else ''}, got {kind_of(value)}"
                          f"{as_text_number(value)}")


def _check_profile_values(where: str, profile: dict, seed_sets: dict | None = None) -> None:
    """Check the profile keys present in one layer (a profile, its section for one paper, a paper's defaults)."""
    if profile.get("batching", "random") not in BATCHING:
        raise ConfigError(f"{where}.batching: unknown batching {profile['batching']!r} (valid: {choices(BATCHING)})")
    if "precision" in profile and profile["precision"] not in PROFILE_PRECISIONS:
        raise ConfigError(f"{where}.precision: unknown precision {profile['precision']!r} "
                          f"(valid: {choices(PROFILE_PRECISIONS)})")
    if "model" in profile and not isinstance(profile["model"], str):
        raise ConfigError(f"{where}.model: expected a model name, got {kind_of(profile['model'])}")
    if "task_train_examples" in profile:  # {task: n}: one task's cap in place of train_examples
        caps = profile["task_train_examples"]
        if not isinstance(caps, dict):
            raise ConfigError(f"{where}.task_train_examples: expected a mapping of task -> examples, got {kind_of(caps)}")
        _check_tasks(f"{where}.task_train_examples", list(caps))
        for task, value in caps.items():
            _positive(f"{where}.task_train_examples.{task}", value, int)
    if "stand_ins" in profile:  # {[experiment.]paper task: offline task}: what this profile trains in its place
        stand = profile["stand_ins"]
        if not isinstance(stand, dict):
            raise ConfigError(f"{where}.stand_ins: expected a mapping of paper task -> stand-in task, got {kind_of(stand)}")
        _check_tasks(f"{where}.stand_ins", [key.rsplit(".", 1)[-1] for key in stand])
        _check_tasks(f"{where}.stand_ins", list(stand.values()))
    for key in ("max_seq_len", "batch_size", "evaluations"):
        if key in profile:
            _positive(f"{where}.{key}", profile[key], int)
    for key in ("lr", "epochs", "max_grad_norm", "adam_epsilon"):
        if key in profile:
            _positive(f"{where}.{key}", profile[key])
    for key in ("num_layers", "train_examples", "eval_examples"):
        if key in profile:
            _positive(f"{where}.{key}", profile[key], int, allow_none=True)
    for key in ("warmup_ratio", "weight_decay"):
        if key in profile and (isinstance(profile[key], bool) or not isinstance(profile[key], (int, float))
                               or not 0 <= profile[key] < 1):
            raise ConfigError(f"{where}.{key}: expected a number in [0, 1), got {kind_of(profile[key])}"
                              f"{as_text_number(profile[key])}")
    if profile.get("tasks") is not None:
        _check_tasks(f"{where}.tasks", profile["tasks"])
    if "seeds" in profile:
        _check_keys(f"{where}.seeds", profile["seeds"], set(seed_sets or {}), required=False)
        for key, value in profile["seeds"].items():
            _positive(f"{where}.seeds.{key}", value, int)
            declared = seed_sets[key]
            if isinstance(declared, list) and value > len(declared):
                raise ConfigError(f"{where}.seeds.{key}: {value} seeds asked, the paper lists {len(declared)}")
    if "retries" in profile and (isinstance(profile["retries"], bool) or not isinstance(profile["retries"], int)
                                 or profile["retries"] < 0):
        raise ConfigError(f"{where}.retries: expected an integer >= 0, got {kind_of(profile['retries'])}")
    for key in ("grids", "skip"):
        if key in profile and not isinstance(profile[key], dict):
            raise ConfigError(f"{where}.{key}: expected a mapping, got {kind_of(profile[key])}")
    for key, reason in profile.get("skip", {}).items():
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{where}.skip.{key}: expected the reason as text")
    if "resources" in profile:
        _check_keys(f"{where}.resources", profile["resources"], RESOURCE_KEYS)
        _positive(f"{where}.resources.cpus_per_trial", profile["resources"]["cpus_per_trial"])
        gpus = profile["resources"]["gpus_per_trial"]
        if isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or gpus < 0 or (gpus > 1 and gpus % 1):
            raise ConfigError(f"{where}.resources.gpus_per_trial: expected 0, a fraction in (0, 1] (trials share a "
                              f"GPU) or a whole number, got {kind_of(gpus)}")
    if "cost" in profile:
        _check_keys(f"{where}.cost", profile["cost"], COST_KEYS)
        for key, value in profile["cost"].items():
            _positive(f"{where}.cost.{key}", value)


def _check_models(where: str, models, paper: dict, skipped=()) -> None:
    """Model roles ({role: {model, num_layers}}) and that every role an experiment the profile runs trains is
    given."""
    if not isinstance(models, dict):
        raise ConfigError(f"{where}: expected a mapping of role -> {{model, num_layers}}, got {kind_of(models)}")
    for role, spec in models.items():
        _check_keys(f"{where}.{role}", spec, MODEL_ROLE_KEYS, required=False)
        if not isinstance(spec.get("model"), str):
            raise ConfigError(f"{where}.{role}.model: expected a model name, got {kind_of(spec.get('model'))}")
        _positive(f"{where}.{role}.num_layers", spec.get("num_layers"), int, allow_none=True)
        if "cost" in spec:  # this model's own step and evaluation seconds (pipelines.plan.model_cost)
            _check_keys(f"{where}.{role}.cost", spec["cost"], COST_KEYS)
            for key, value in spec["cost"].items():
                _positive(f"{where}.{role}.cost.{key}", value)
    for exp_name, exp in paper["experiments"].items():
        if exp_name in skipped:
            continue
        for settings in [exp.get("settings") or {}, *exp["arms"].values()]:
            for role in settings.get("model", []) if isinstance(settings.get("model"), list) else \
                    [settings["model"]] if "model" in settings else []:
                if role not in models:
                    raise ConfigError(f"{where}: no model for role {role!r} (experiment {exp_name} trains it; "
                                      f"given: {choices(models) or 'none'})")


def _check_seed_sets(where: str, seeds) -> None:
    """A paper's seed sets: a count (seeds 1..n) or the paper's own list of seeds."""
    if not isinstance(seeds, dict) or not seeds:
        raise ConfigError(f"{where}: expected a mapping of seed sets (a count or a list of seeds), got {kind_of(seeds)}")
    for name, value in seeds.items():
        if isinstance(value, list):
            if not value or not all(number(-1, integer=True)(v) for v in value) or len(set(value)) < len(value):
                raise ConfigError(f"{where}.{name}: expected a non-empty list of distinct integer seeds >= 0")
        else:
            _positive(f"{where}.{name}", value, int)


def _check_looks(where: str, looks, seed_sets: dict) -> None:
    """BUDGET's looks: pairs a cell at each look (at least 2, increasing; within a listed seed set's length), the
    seed sets they grow, the alpha-spending family (analysis.sequential.SPENDING), and whether a look that does not
    fit the budget whole grows the open claims that fit (``partial``)."""
    _check_keys(where, looks, LOOKS_KEYS, optional={"spending", "partial"})
    pairs = looks["pairs"]
    if (not isinstance(pairs, list) or not pairs or not all(number(1, integer=True)(n) for n in pairs)
            or pairs != sorted(set(pairs))):
        raise ConfigError(f"{where}.pairs: expected increasing integers >= 2 (pairs a cell at each look), got "
                          f"{pairs!r}")
    sets = looks["seed_sets"]
    if not isinstance(sets, list) or not sets or any(not isinstance(s, str) or s not in seed_sets for s in sets):
        raise ConfigError(f"{where}.seed_sets: expected a list of the paper's seed sets (valid: "
                          f"{choices(sorted(seed_sets))}), got {sets!r}")
    for name in sets:
        if isinstance(seed_sets[name], list) and pairs[-1] > len(seed_sets[name]):
            raise ConfigError(f"{where}.pairs: the last look asks {pairs[-1]} seeds of set {name!r}, which lists "
                              f"{len(seed_sets[name])}")
    if looks.get("spending", "obf") not in ("obf", "pocock"):
        raise ConfigError(f"{where}.spending: expected obf or pocock, got {looks['spending']!r}")
    if not isinstance(looks.get("partial", False), bool):
        raise ConfigError(f"{where}.partial: expected true or false, got {looks['partial']!r}")


def _check_profile(name: str, profile, papers: dict) -> dict[str, Profile]:
    """A profile's keys and values, and each paper's resolved view of it (returned, typed)."""
    where = f"profiles.{name}"
    _check_keys(where, profile, PROFILE_TOP, optional=PROFILE_TOP_OPTIONAL)
    _check_profile_values(where, profile)
    sections = profile.get("papers") or {}
    if not isinstance(sections, dict):
        raise ConfigError(f"{where}.papers: expected a mapping of paper -> settings, got {kind_of(sections)}")
    for paper_name, section in sections.items():
        if paper_name not in papers:
            raise ConfigError(f"{where}.papers: unknown paper {paper_name!r} (valid: {choices(papers)})")
        _check_keys(f"{where}.papers.{paper_name}", section, PAPER_SCALE, required=False)
        _check_profile_values(f"{where}.papers.{paper_name}", section, papers[paper_name]["seeds"])
        if "looks" in section:
            _check_looks(f"{where}.papers.{paper_name}.looks", section["looks"], papers[paper_name]["seeds"])
    out = {}
    for paper_name, paper in papers.items():
        resolved = resolve_profile(profile, paper_name, paper)
        missing = sorted(PROFILE_KEYS - set(resolved))
        if missing:
            raise ConfigError(f"{where}: missing key {missing[0]!r} (set it here, under papers.{paper_name}, or in "
                              f"papers.{paper_name}.defaults)")
        typed = out[paper_name] = Profile.of(resolved)
        _check_profile_targets(f"{where}.papers.{paper_name}", typed, paper)
        _check_trained_full_train(f"{where}.papers.{paper_name}", typed, paper)
        _check_models(f"{where}.papers.{paper_name}.models", typed.models, paper, typed.skip)
    return out


def _check_value(where: str, key: str, value, selectable: bool = True) -> None:
    if key not in SETTINGS:
        raise ConfigError(f"{where}: unknown setting {key!r} (valid: {choices(sorted(SETTINGS))})")
    if key in REFERENCE_SETTINGS:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected {SETTINGS[key].expected}, got {kind_of(value)}")
        return
    valid, expected = SETTINGS[key].check, SETTINGS[key].expected
    if isinstance(value, dict) and selectable:
        _check_keys(where, value, {"selected", "searched", "arm"}, required=False)
        if len({"selected", "searched"} & value.keys()) != 1:
            raise ConfigError(f"{where}: expected one of 'selected' (an experiment's choice) or 'searched' "
                              f"(an ASHA search's choice)")
        return
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, (list, dict)) or not valid(item):
            raise ConfigError(f"{where}: bad value {item!r} (expected {expected}){as_text_number(item)}")
    if isinstance(value, list) and not value:
        raise ConfigError(f"{where}: expected a non-empty list")


def _check_experiment(where: str, exp, experiments: dict, recipes: dict, seed_sets: dict) -> None:
    _check_keys(where, exp, EXPERIMENT_KEYS, optional=EXPERIMENT_OPTIONAL)
    _check_tasks(f"{where}.tasks", exp["tasks"])
    _check_seeds(f"{where}.seeds", exp["seeds"], seed_sets)
    if not isinstance(exp["about"], str):
        raise ConfigError(f"{where}.about: expected text, got {kind_of(exp['about'])}")
    if not isinstance(exp["covers"], list) or not all(isinstance(c, str) for c in exp["covers"]):
        raise ConfigError(f"{where}.covers: expected a list of the tables and figures it feeds, "
                          f"got {kind_of(exp['covers'])}")
    if not isinstance(exp.get("settings") or {}, dict):
        raise ConfigError(f"{where}.settings: expected a mapping of settings, got {kind_of(exp['settings'])}")
    select = exp.get("select") or []
    if not isinstance(select, list) or not all(isinstance(k, str) for k in select):
        raise ConfigError(f"{where}.select: expected a list of setting names, got {kind_of(exp['select'])}")
    for key, value in (exp.get("settings") or {}).items():
        _check_value(f"{where}.settings.{key}", key, value, selectable=False)
    if not isinstance(exp["arms"], dict) or not exp["arms"]:
        raise ConfigError(f"{where}.arms: expected at least one arm")
    for arm, settings in exp["arms"].items():
        if not isinstance(settings, dict):
            raise ConfigError(f"{where}.arms.{arm}: expected a mapping of settings")
        for key, value in settings.items():
            _check_value(f"{where}.arms.{arm}.{key}", key, value)
            if isinstance(value, dict) and key not in REFERENCE_SETTINGS:
                verb = "selected" if "selected" in value else "searched"
                source = value[verb]
                if not isinstance(source, str) or not isinstance(value.get("arm", arm), str):
                    raise ConfigError(f"{where}.arms.{arm}.{key}: expected an experiment name after {verb!r} "
                                      f"(and an arm name after 'arm'), got {kind_of(source)}")
                if source not in experiments or source == where.rsplit(".", 1)[-1]:
                    raise ConfigError(f"{where}.arms.{arm}.{key}: {verb} from unknown experiment {source!r} "
                                      f"(valid: {choices(experiments)})")
                src = experiments[source]
                if verb == "searched" and "search" not in src:
                    raise ConfigError(f"{where}.arms.{arm}.{key}: experiment {source!r} declares no search")
                if value.get("arm", arm) not in src.get("arms", {}) or key not in (src.get("select") or []):
                    raise ConfigError(f"{where}.arms.{arm}.{key}: experiment {source!r} does not select {key!r} "
                                      f"in arm {value.get('arm', arm)!r}")
            for recipe in (value if isinstance(value, list) else [value]) if key == "recipe" else []:
                if recipe not in recipes:
                    raise ConfigError(f"{where}.arms.{arm}.recipe: unknown recipe {recipe!r} "
                                      f"(valid: {choices(recipes)})")
    for arm, settings in exp["arms"].items():
        merged = {**(exp.get("settings") or {}), **settings}
        _check_objective(f"{where}.arms.{arm}", merged)
        _check_multitask(f"{where}.arms.{arm}", merged, exp["tasks"])
        _check_full_train(f"{where}.arms.{arm}", merged, exp["tasks"])
        if "teacher" in merged:
            _check_teacher(f"{where}.arms.{arm}.teacher", merged["teacher"], where.rsplit(".", 1)[-1], experiments)
    for key in exp.get("select") or []:
        if key not in SETTINGS:
            raise ConfigError(f"{where}.select: unknown setting {key!r} (valid: {choices(sorted(SETTINGS))})")
    if "search" in exp:
        _check_search(f"{where}.search", exp, seed_sets)
    if "init_seed" in exp and (not number(-1, integer=True)(exp["init_seed"]) or exp.get("cross_seeds")):
        raise ConfigError(f"{where}.init_seed: expected a seed (an integer >= 0) that every trial shares while its "
                          f"seeds vary the data order (not with cross_seeds), got {kind_of(exp['init_seed'])}")


def _check_objective(where: str, settings: dict) -> None:
    """The arm's objective settings must be the objective's own (its first grid value checked in full)."""
    name = settings.get("objective", "ce")
    if isinstance(name, list) or isinstance(name, dict):
        raise ConfigError(f"{where}.objective: expected one objective, not a grid or a choice")
    names = objectives.setting_names()
    args = {k: v[0] if isinstance(v, list) else v for k, v in settings.items()
            if k in names and not isinstance(v, dict)}
    later = frozenset(k for k, v in settings.items() if k in names and isinstance(v, dict))  # another stage's choice
    try:
        objectives.resolve(name, args, later)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    teacher = objectives.get_objective(name).needs_teacher
    own = "self_teacher" in settings  # Xu et al.: the run's own earlier steps teach it
    if own and "teacher" in settings:
        raise ConfigError(f"{where}: give either a teacher trial (teacher) or the run's own (self_teacher), not both")
    if own and not teacher:
        raise ConfigError(f"{where}: self_teacher needs an objective that reads a teacher (sd), got {name!r}")
    windows = settings.get("teacher_k", "all")
    if own and settings["self_teacher"] == "sdv" and "all" in (windows if isinstance(windows, list) else [windows]):
        raise ConfigError(f"{where}: an sdv teacher votes over K snapshots: give teacher_k a positive integer")
    if "teacher_k" in settings and not own:
        raise ConfigError(f"{where}: teacher_k is the window of a self_teacher (sda or sdv); give one")
    if not own and teacher != ("teacher" in settings):
        raise ConfigError(f"{where}: objective {name!r} " + ("needs a teacher: {experiment: NAME, arm: ARM} or "
                                                            "self_teacher: sda | sdv" if teacher
                                                            else "reads no teacher; remove `teacher`"))


def full_train_tasks() -> list[str]:
    """The tasks whose split recipe takes ``full_train`` (their split function has the parameter: GLUE's); any
    other task's split would fail with a TypeError when a trial loads its data."""
    return [name for name, task in TASKS.items()
            if task.split is not None and "full_train" in inspect.signature(task.split).parameters]


def _check_full_train(where: str, settings: dict, tasks: list) -> None:
    """``full_train: true`` (or a grid holding true) only for tasks whose split takes it."""
    value = settings.get("full_train", False)
    if True not in (value if isinstance(value, list) else [value]):
        return
    accepting = full_train_tasks()
    refused = [t for t in tasks if t not in accepting]
    if refused:
        raise ConfigError(f"{where}.full_train: task(s) {', '.join(refused)} have no full-training split "
                          f"(full_train applies to {choices(accepting)})")


def _check_trained_full_train(where: str, profile: Profile, paper: dict) -> None:
    """_check_full_train on what a resolved profile trains: its stand-in tasks, its grids' full_train values."""
    for exp_name, exp in paper["experiments"].items():
        if exp_name in profile.skip:
            continue
        for arm, settings in exp["arms"].items():
            merged = {**(exp.get("settings") or {}), **settings}
            for path, values in profile.grids.items():  # as pipelines.plan applies them
                if path in (f"{exp_name}.{arm}.full_train", f"{exp_name}.*.full_train") and "full_train" in merged:
                    merged["full_train"] = values
            _check_full_train(f"{where}: experiments.{exp_name}.arms.{arm}", merged,
                              profile_tasks(profile, exp_name, exp))


def _check_multitask(where: str, settings: dict, tasks: list) -> None:
    """Multitask settings belong to multitask tasks (TASKS[...].parts), and single-task ones to single tasks: each
    setting's declared trainer kinds (trainers.settings)."""
    names = sorted(k for k in settings if k in only(MULTITASK))
    single = [t for t in tasks if not TASKS[t].parts]
    if names and single:
        raise ConfigError(f"{where}.{names[0]}: a multitask setting, but task {single[0]!r} is a single task "
                          f"(multitask: {choices(t for t in TASKS if TASKS[t].parts)})")
    if len(single) < len(tasks):
        unused = sorted(set(only(SINGLE_TASK)) & set(settings))
        if unused:
            raise ConfigError(f"{where}.{unused[0]}: a single-task setting; the multitask trainer does not use it "
                              f"(its settings: {choices(only(MULTITASK))})")
        _check_multitask_objective(where, settings)


def _check_multitask_objective(where: str, settings: dict) -> None:
    """The arm's objective serves the multitask trainer, at every grid value of the settings it takes there: both
    asked of the objectives registry (trainers.objectives), not listed here."""
    name = settings.get("objective", "ce")
    serving = objectives.serving(objectives.MULTITASK)
    if name not in serving:
        raise ConfigError(f"{where}.objective: the multitask trainer's objective is {' or '.join(serving)}, "
                          f"got {name!r}")
    for key, setting in objectives.settings_for(name, objectives.MULTITASK).items():
        value = settings.get(key, [])
        grid = [] if isinstance(value, dict) else value if isinstance(value, list) else [value]  # dict: chosen later
        bad = [v for v in grid if not setting.check(v)]
        if bad:
            raise ConfigError(f"{where}.{key}: {setting.expected}, got {bad[0]!r}")


def _check_teacher(where: str, ref: dict, own: str, experiments: dict) -> None:
    """{experiment: E, arm: A}: E (default: this experiment) trains the teacher in its arm A (default: its only
    arm); the student reads that trial's train-set logits (same task; the same seed when E has it). With
    ``members: n`` the teacher is the ensemble of E's first n seeds (their predictions averaged)."""
    _check_keys(where, ref, {"experiment", "arm"}, required=False, optional=frozenset({"members"}))
    if "members" in ref and not number(1, integer=True)(ref["members"]):
        raise ConfigError(f"{where}.members: an ensemble teacher's size, an integer >= 2, got {ref['members']!r}")
    source = ref.get("experiment", own)
    if not isinstance(source, str) or source not in experiments:
        raise ConfigError(f"{where}: unknown experiment {source!r} (valid: {choices(experiments)})")
    arms = experiments[source].get("arms") if isinstance(experiments[source], dict) else None
    if not isinstance(arms, dict) or not arms:
        raise ConfigError(f"{where}: experiment {source!r} has no arms to teach from")
    arm = ref.get("arm", next(iter(arms)) if len(arms) == 1 else None)
    if not isinstance(arm, (str, type(None))) or arm not in arms:
        raise ConfigError(f"{where}: experiment {source!r} has no arm {arm!r} (valid: {choices(arms)})"
                          if arm else f"{where}: name the teacher's arm of {source!r} (valid: {choices(arms)})")
    if not isinstance(arms[arm], dict) or not isinstance(experiments[source].get("settings") or {}, dict):
        raise ConfigError(f"{where}: the teacher {source}.{arm} has no settings mapping")
    if "teacher" in {**(experiments[source].get("settings") or {}), **arms[arm]}:
        raise ConfigError(f"{where}: the teacher {source}.{arm} is itself a student: teachers train on labels")


def _check_seeds(where: str, seeds, seed_sets: dict) -> None:
    """An experiment's seeds: one of its paper's seed sets by name, or a fixed positive count (seeds 1..n)."""
    if isinstance(seeds, str) and seeds in seed_sets or number(0, integer=True)(seeds):
        return
    if isinstance(seeds, (int, float)) and not isinstance(seeds, bool):
        raise ConfigError(f"{where}: expected a positive integer count, got {seeds!r} "
                          f"(or a seed set: {choices(sorted(seed_sets))})")
    raise ConfigError(f"{where}: unknown seed set {seeds!r} (valid: {choices(sorted(seed_sets))} "
                      f"or a fixed count)")


def _check_search(where: str, exp: dict, seed_sets: dict) -> None:
    """ASHA over the experiment's own grids: they must be plain (no stage choices) and `select` must name them;
    `confirm` is checked once every experiment is (_check_confirm)."""
    search = exp["search"]
    _check_keys(where, search, SEARCH_KEYS, required=False)
    _check_seeds(f"{where}.seeds", search.get("seeds", "search"), seed_sets)
    for key, least in (("grace_evaluations", 1), ("reduction_factor", 2), ("samples", 1), ("sample_seed", 0),
                       ("top", 1)):
        if key in search and not number(least - 1, integer=True)(search[key]):
            raise ConfigError(f"{where}.{key}: expected an integer >= {least}")
    if not isinstance(search.get("only", False), bool):
        raise ConfigError(f"{where}.only: expected true (run by `make search` only, never by reproduce) or false")
    if references(exp):
        raise ConfigError(f"{where}: a searched experiment cannot take settings from other experiments")
    if not exp.get("select"):
        raise ConfigError(f"{where}: needs `select` (the grid keys the search chooses)")


def _check_recipes(where: str, recipes) -> None:
    if not isinstance(recipes, dict):
        raise ConfigError(f"{where}: expected a mapping of recipes")
    for name, recipe in recipes.items():
        _check_keys(f"{where}.{name}", recipe, {"model", "tasks"})
        if not isinstance(recipe["tasks"], dict) or not recipe["tasks"]:
            raise ConfigError(f"{where}.{name}.tasks: expected a mapping of task -> hyperparameters, "
                              f"got {kind_of(recipe['tasks'])}")
        for task, hp in recipe["tasks"].items():
            _check_tasks(f"{where}.{name}.tasks", [task])
            _check_keys(f"{where}.{name}.tasks.{task}", hp, RECIPE_KEYS, required=False)


def _check_profile_targets(where: str, profile: Profile, paper: dict) -> None:
    """grids keys (experiment.arm.setting, arm may be *) and skip keys must name the paper's experiments."""
    experiments = paper["experiments"]
    for path, values in profile.grids.items():
        parts = str(path).split(".")
        if len(parts) != 3 or parts[0] not in experiments:
            raise ConfigError(f"{where}.grids: {path!r} is not experiment.arm.setting of a declared experiment")
        exp_name, arm, key = parts
        arms = experiments[exp_name]["arms"]
        if arm != "*" and (arm not in arms or key not in arms[arm]):
            raise ConfigError(f"{where}.grids: {path!r}: experiment {exp_name!r} has no arm {arm!r} with "
                              f"setting {key!r}")
        declared = key in (experiments[exp_name].get("settings") or {}) or any(
            key in (a or {}) for a in arms.values())
        if arm == "*" and not declared:  # a grid replaces a declared value: an undeclared one would be ignored
            raise ConfigError(f"{where}.grids: {path!r}: no arm of experiment {exp_name!r} declares setting "
                              f"{key!r} (declare the paper's value in the experiment's settings)")
        _check_value(f"{where}.grids.{path}", key, values, selectable=False)
    for name in profile.skip:
        if name not in experiments:
            raise ConfigError(f"{where}.skip: unknown experiment {name!r} (valid: {choices(experiments)})")


def validate(data, path: Path) -> tuple[dict[str, Paper], dict[tuple[str, str], Profile]]:
    """The whole of suite.yaml checked; returns its papers, typed, and every paper's view of every profile,
    {(profile, paper): Profile}."""
    where = path.name
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with keys {choices(sorted(TOP_KEYS))} at the top level, "
                          f"got {kind_of(data)}")
    _check_keys(where, data, TOP_KEYS)
    if not isinstance(data["runs_dir"], str) or not data["runs_dir"].strip():
        raise ConfigError(f"{where}: runs_dir: expected a folder path, got {kind_of(data['runs_dir'])}")
    if not isinstance(data["profiles"], dict) or not data["profiles"]:
        raise ConfigError(f"{where}: profiles: expected at least one profile")
    if not isinstance(data["default_profile"], str) or data["default_profile"] not in data["profiles"]:
        raise ConfigError(f"{where}: default_profile: unknown profile {data['default_profile']!r} "
                          f"(valid: {choices(data['profiles'])})")
    if not isinstance(data["papers"], dict) or not data["papers"]:
        raise ConfigError(f"{where}: papers: expected at least one paper")
    for name, paper in data["papers"].items():
        try:
            _check_paper(name, paper)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    papers = {name: Paper.of(paper) for name, paper in data["papers"].items()}
    resolved = {}
    for name, profile in data["profiles"].items():
        try:
            resolved.update({(name, paper): typed for paper, typed in _check_profile(name, profile,
                                                                                     data["papers"]).items()})
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return papers, resolved


def _check_paper(name: str, paper) -> None:
    _check_keys(f"papers.{name}", paper, PAPER_KEYS, optional=PAPER_OPTIONAL)
    for key in ("title", "source", "report"):
        if not isinstance(paper[key], str) or not paper[key].strip():
            raise ConfigError(f"papers.{name}.{key}: expected text, got {kind_of(paper[key])}")
    _check_keys(f"papers.{name}.defaults", paper["defaults"], PROTOCOL_KEYS, required=False)
    _check_profile_values(f"papers.{name}.defaults", paper["defaults"])
    _check_seed_sets(f"papers.{name}.seeds", paper["seeds"])
    if not isinstance(paper["experiments"], dict) or not paper["experiments"]:
        raise ConfigError(f"papers.{name}.experiments: expected at least one experiment")
    recipes = paper.get("recipes") or {}
    _check_recipes(f"papers.{name}.recipes", recipes)
    for exp_name, exp in paper["experiments"].items():
        _check_experiment(f"papers.{name}.experiments.{exp_name}", exp, paper["experiments"], recipes,
                          paper["seeds"])
    for exp_name, exp in paper["experiments"].items():
        stage_depth(paper["experiments"], exp_name)
        if "confirm" in (exp.get("search") or {}):  # every experiment's shape is checked by now
            _check_confirm(f"papers.{name}.experiments.{exp_name}.search.confirm", exp_name, exp["search"]["confirm"],
                           paper["experiments"])


def _check_confirm(where: str, own: str, confirm, experiments: dict) -> None:
    """`confirm`: the experiment whose settings read this search ({searched: OWN}); its arms train the top points."""
    readers = [n for n, e in experiments.items() if any(src == SEARCH_PREFIX + own for _, src, _ in references(e))]
    if confirm not in readers:
        raise ConfigError(f"{where}: expected an experiment whose settings read this search ({{searched: {own}}}; "
                          f"valid: {choices(readers) or 'none'})")
