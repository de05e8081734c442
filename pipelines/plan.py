"""suite.yaml + paper + profile (+ earlier stages' choices) -> immutable trial specs with deterministic ids.

A trial id is the fingerprint of the training config alone, so experiments that ask for the same training
(Table 1's Standard and Figure 2's debiased Adam, seeds 1..20) share one trial and it runs once. An experiment
whose settings are {selected: EXP} is a later stage: it is planned once EXP's choices are known, and until then
it is pending (counted, with a stand-in choice for the cost estimate).
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

from pipelines.availability import reason, taught_by
from pipelines.config import SuiteConfig
from pipelines.config_errors import ConfigError
from pipelines.experiment_graph import (SEARCH_PREFIX, references, source_key, stage_depth, teacher_ref,
                                        teacher_sources)
from pipelines.resolved import Experiment, Profile, profile_tasks
from trainers.config import TrainConfig, eval_steps, total_steps
from trainers.execution import resolve_precision
from trainers import settings as arm_settings
from trainers.multitask.data import PART_TASKS
from trainers.tasks import get_task, split_seed

def trial_id(cfg: TrainConfig) -> str:
    return cfg.fingerprint()


def setting_label(key: str, value) -> str:
    if key == "reinit":
        return "reinit-pooler" if value == "pooler" else f"reinit-{value}"
    if key == "max_steps":
        return "3ep" if value is None else f"{value}steps"
    return f"{key}={value}"


@dataclass(frozen=True)
class TrialSpec:
    trial_id: str
    config: TrainConfig
    name: str  # run name: task, seeds, then what sets the trial apart, e.g. "RTE s3 reinit-2", "RTE-1k i2 d7 standard"

    def tags(self) -> dict[str, str]:
        """The trial's identity as MLflow run tags (the config's other fields are its params); which metric
        ``val_metric`` holds (accuracy, f1, mcc or spearman: Table 3)."""
        return {"trial_id": self.trial_id, "task": self.config.task, "init_seed": str(self.config.init_seed),
                "data_seed": str(self.config.data_seed), "val_metric_name": get_task(self.config.task).metric}


@dataclass(frozen=True)
class Member:
    """One trial's place in one experiment: its task column, arm, the arm's resolved settings, and seeds."""
    trial_id: str
    task: str  # the table column, e.g. "RTE" or "RTE (1k)"
    arm: str
    values: tuple  # ((setting, value), ...) after grids and selections
    init_seed: int
    data_seed: int

    @property
    def settings(self) -> dict:
        return dict(self.values)


@dataclass
class Plan:
    paper: str
    profile: str
    experiments: dict[str, list[Member]] = field(default_factory=dict)  # planned experiments
    specs: dict[str, TrialSpec] = field(default_factory=dict)  # trial id -> spec (planned experiments only)
    pending: dict[str, str] = field(default_factory=dict)  # experiment -> which stage it waits for
    skipped: dict[str, str] = field(default_factory=dict)  # experiment -> the profile's reason
    estimates: dict[str, list[TrialSpec]] = field(default_factory=dict)  # pending/skipped: stand-in specs
    stages: dict[str, int] = field(default_factory=dict)
    searches: dict[str, str] = field(default_factory=dict)  # pending experiment -> the `make search` it waits for
    teachers: "Teachers | None" = None  # every trial that can teach, as expanded (a search's students resolve here)

    def unique(self) -> list[TrialSpec]:
        return list(self.specs.values())

    def ids(self, experiment: str) -> list[str]:
        return [m.trial_id for m in self.experiments.get(experiment, [])]


def task_label(task: str, settings: dict) -> str:
    """Large tasks always train on 1k (Sec. 3) unless full_train; small tasks when an experiment downsamples to 1k
    (Table 3's columns). Other samples (Xu et al.'s Figure 4: 1,500 examples, capped by a profile) keep the task's
    name: their experiment has no full-size column to tell apart."""
    if settings.get("full_train") or settings.get("split") == "dev_halves":
        return task
    if get_task(task).recipe == "large" or settings.get("train_examples") == 1000:
        return f"{task} (1k)"
    return task


def _arm_settings(profile: Profile, exp_name: str, exp: Experiment, arm: str) -> dict:
    settings = {**(exp.settings or {}), **exp.arms[arm]}
    for path, values in profile.grids.items():
        name, which, key = path.split(".")
        if name == exp_name and which in (arm, "*") and key in settings:
            settings[key] = values
    return settings


def _train_config(profile: Profile, recipes: dict, task: str, s: dict, init_seed: int, data_seed: int) -> TrainConfig:
    """The profile's protocol and scale for ``task``, then the arm's settings ``s`` as each declares it reaches the
    trainer (trainers.settings). The profile's precision is resolved on this machine (`auto`: bf16 where it has
    bf16 units, trainers.execution.auto_precision), so it is part of the trial id; an arm's own precision wins."""
    base = dict(
        task=task, model=profile.model, lr=float(profile.lr), batch_size=profile.batch_size,
        epochs=float(profile.epochs), warmup_ratio=float(profile.warmup_ratio),
        max_grad_norm=float(profile.max_grad_norm), weight_decay=float(profile.weight_decay),
        adam_epsilon=float(profile.adam_epsilon), max_seq_len=profile.max_seq_len, num_layers=profile.num_layers,
        batching=profile.batching, evaluations=profile.evaluations, eval_examples=profile.eval_examples,
        train_examples=profile.task_train_examples.get(task, profile.train_examples),
        init_seed=init_seed, data_seed=data_seed, part_examples=part_caps(profile, task),
        precision=_precision(profile.precision),
    )
    return TrainConfig(**arm_settings.reach(base, s, arm_settings.Trial(task, profile.models, recipes)))


def _precision(value: str) -> str:
    try:
        return resolve_precision(value)
    except ValueError as exc:  # a bad SUITE_PRECISION: one line, as a config error
        raise ConfigError(str(exc)) from None


def part_caps(profile: Profile, task: str) -> tuple:
    """A multitask task's training caps per part, from the profile's task_train_examples of its parts' tasks."""
    caps = profile.task_train_examples
    return tuple(sorted((part, caps[name]) for part, name in PART_TASKS.items()
                        if get_task(task).parts and name in caps))


def _seed_pairs(seeds: list[int], cross: bool, init_seed: int | None = None) -> list[tuple[int, int]]:
    """(init seed, data seed) pairs: equal, crossed, or one shared init seed over data orders (Xu et al. Fig. 4)."""
    if init_seed is not None:
        return [(init_seed, s) for s in seeds]
    return list(itertools.product(seeds, seeds)) if cross else [(s, s) for s in seeds]


def experiment_seeds(profile: Profile, exp: Experiment) -> list[int]:
    """An experiment's seeds: its paper's seed set cut to the profile's count, or 1..n for a fixed count."""
    return profile.seed_lists[exp.seeds] if isinstance(exp.seeds, str) else list(range(1, exp.seeds + 1))


def run_name(label: str, arm: str, values: dict, grid: dict, chosen: set, init_seed: int, data_seed: int) -> str:
    """Short, seeds first so a narrow column shows them: "RTE s3 reinit-2", "RTE-1k i2 d7 standard",
    "STS-B s1 lr_scale=2.5 llrd=0.9". The arm is left out when a shown setting already names it. The name
    never enters the trial id; experiments and arms are tags (pipelines.tracking.membership_tags)."""
    seeds = f"s{init_seed}" if init_seed == data_seed else f"i{init_seed} d{data_seed}"
    shown = [setting_label(k, v) for k, v in values.items()
             if len(grid[k]) > 1 or k in ("reinit", "max_steps") or k in chosen]
    detail = shown if any(arm in s for s in shown) else [arm, *shown]
    if values.get("random_init"):  # Kobyzev et al. Tables 7-9: the same arm names as the pre-trained students'
        detail.append("random-init")
    return " ".join([label.replace(" (1k)", "-1k"), seeds, *detail])


class Teachers:
    """Trials that can teach, by (experiment, task, arm, seed), filled as experiments are expanded (teachers
    first: make_plan orders them), and the lookup a student's {teacher: ...} setting resolves through."""

    def __init__(self, declared: dict):
        self.declared, self.trials = declared, {}

    def copy(self) -> "Teachers":
        """A registry that can grow apart from this one (another grid point's own teachers)."""
        other = Teachers(self.declared)
        other.trials = {key: {seed: list(specs) for seed, specs in by_seed.items()}
                        for key, by_seed in self.trials.items()}
        return other

    def add(self, experiment: str, task: str, arm: str, seed: int, spec: TrialSpec) -> None:
        self.trials.setdefault((experiment, task, arm), {}).setdefault(seed, []).append(spec)

    def resolve(self, ref: dict, own: str, task: str, seed: int, student: TrainConfig) -> str:
        """The teacher trial's id: the source's trial of this task and seed, or its only seed's; with
        ``members: n``, an ensemble: the source's first n seeds' trials, ids joined by "+"."""
        source, arm = teacher_ref(ref, own, self.declared)
        by_seed = self.trials.get((source, task, arm), {})
        where = f"papers: experiment {own}: teacher {source}.{arm} on {task}"
        if "members" in ref:
            if len(by_seed) < ref["members"]:
                raise ConfigError(f"{where}: an ensemble of {ref['members']} needs as many seeds; it has "
                                  f"{len(by_seed)} at this profile")
            picked = [by_seed[s] for s in sorted(by_seed)[:ref["members"]]]
        elif seed not in by_seed and len(by_seed) != 1:
            raise ConfigError(f"{where}: it has no trial of seed {seed} "
                              f"(its seeds: {', '.join(map(str, by_seed)) or 'none: add the task to it'})")
        else:
            picked = [by_seed.get(seed) or next(iter(by_seed.values()))]
        for specs in picked:
            if len(specs) > 1:
                raise ConfigError(f"{where}: {len(specs)} trials of one seed (a grid): a teacher is one trial")
            teacher = specs[0].config
            if (teacher.train_examples, teacher.full_train, teacher.dev_halves, teacher.part_examples) != (
                    student.train_examples, student.full_train, student.dev_halves, student.part_examples) or (
                    split_seed(task, teacher.data_seed) != split_seed(task, student.data_seed)):
                raise ConfigError(f"{where}: the teacher trains on other examples (train_examples "
                                  f"{teacher.train_examples} vs {student.train_examples}, or another seed's split)")
        return "+".join(specs[0].trial_id for specs in picked)


def teacher_order(declared: dict, names: list[str]) -> list[str]:
    """Experiments with teachers after the experiments that train them (stable otherwise)."""
    done, out = set(), []
    while len(out) < len(names):
        for name in names:
            if name not in done and teacher_sources(declared[name], name) & set(names) <= done:
                done.add(name)
                out.append(name)
    return out


def _arm_order(exp: Experiment) -> list[str]:
    """Arms taught by another arm of the same experiment (Self-KD by Finetune) come after it."""
    own = [a for a, s in exp.arms.items() if "teacher" in {**(exp.settings or {}), **s}
           and "experiment" not in {**(exp.settings or {}), **s}["teacher"]]
    return [a for a in exp.arms if a not in own] + own


def expand_experiment(profile, recipes, exp_name, exp, tasks, choices,
                      teachers: Teachers | None = None) -> tuple[list[Member], list[TrialSpec]]:
    """Members and specs of one experiment. ``choices``: {(source experiment, task, arm): {setting: value}};
    ``teachers``: the trials expanded so far, for {teacher: ...} settings (the trial ids enter the config)."""
    seeds = experiment_seeds(profile, exp)
    members, specs = [], []
    for task in tasks:
        for arm in _arm_order(exp):
            settings = _arm_settings(profile, exp_name, exp, arm)
            ref = settings.pop("teacher", None)
            chosen = set()  # settings another stage chose: they set the trial apart, so the run name shows them
            for key, value in list(settings.items()):
                if isinstance(value, dict):
                    settings[key] = choices[(source_key(value), task, value.get("arm", arm))][key]
                    chosen.add(key)
            grid = {k: v if isinstance(v, list) else [v] for k, v in settings.items()}
            for combo in itertools.product(*grid.values()):
                values = dict(zip(grid, combo))
                for init_seed, data_seed in _seed_pairs(seeds, bool(exp.cross_seeds), exp.init_seed):
                    cfg = _train_config(profile, recipes, task, values, init_seed, data_seed)
                    if ref is not None:
                        cfg = dataclasses.replace(cfg, teacher=teachers.resolve(ref, exp_name, task, init_seed, cfg))
                    if len(grid.get("max_steps", [])) > 1 and cfg.max_steps:
                        # Sec. 6: for the small datasets, skip budgets below the 3-epoch step count.
                        if cfg.max_steps < total_steps(dataclasses.replace(cfg, max_steps=None), train_size(cfg)):
                            continue
                    label = task_label(task, values)
                    spec = TrialSpec(trial_id(cfg), cfg, run_name(label, arm, values, grid, chosen, init_seed,
                                                                  data_seed))
                    specs.append(spec)
                    members.append(Member(spec.trial_id, label, arm, tuple(values.items()), init_seed, data_seed))
                    if teachers is not None:
                        teachers.add(exp_name, task, arm, init_seed, spec)
    return members, specs


def search_only(paper: str, name: str, exp: Experiment) -> str | None:
    """Why reproduce leaves a search-only experiment (`search: {only: true}`) to `make search`."""
    if (exp.search or {}).get("only"):
        return (f"an ASHA search (Appendix D), run by `make search PAPER={paper} EXPERIMENT={name}`, not by "
                f"reproduce; its choice feeds the experiments that read it")
    return None


def sample_points(members: list[Member], samples: int, seed: int) -> list[Member]:
    """``samples`` grid points per (task, arm), drawn without replacement (all of them when the grid is smaller);
    every seed of a drawn point is kept."""
    import numpy as np
    kept = []
    for key in dict.fromkeys((m.task, m.arm) for m in members):
        group = [m for m in members if (m.task, m.arm) == key]
        points = list(dict.fromkeys(m.values for m in group))
        rng = np.random.default_rng(seed)
        drawn = {points[i] for i in rng.choice(len(points), size=min(samples, len(points)), replace=False)}
        kept += [m for m in group if m.values in drawn]
    return kept


def stand_in_choices(config: SuiteConfig, paper: str, profile: Profile) -> dict:
    """The first candidate of every selected grid: lets a pending stage be counted and costed before it runs."""
    experiments = config.paper(paper).experiments
    out = {}
    for name, exp in experiments.items():
        for arm in exp.arms:
            settings = _arm_settings(profile, name, exp, arm)
            select = exp.select or []
            first = {k: v[0] if isinstance(v, list) else v for k, v in settings.items() if k in select}
            for task in profile_tasks(profile, name, exp):
                out[(name, task, arm)] = first
                if exp.search is not None:
                    out[(SEARCH_PREFIX + name, task, arm)] = first
    return out


def _waiting_for(source: str) -> str:
    if source.startswith(SEARCH_PREFIX):
        name = source[len(SEARCH_PREFIX):]
        return (f"the ASHA search of {name} (make search EXPERIMENT={name}), once it has searched the task and left "
                f"a complete trial in every arm")
    return f"the finished runs of {source}"


def make_plan(config: SuiteConfig, paper: str, profile_name: str | None = None,
              experiments: list[str] | None = None, choices: dict | None = None) -> Plan:
    """``choices``: {(experiment, task, arm): {setting: value}} from finished earlier stages (pipelines.selection)."""
    profile_name, profile = config.profile(profile_name, paper)
    paper_cfg = config.paper(paper)
    declared, recipes = paper_cfg.experiments, paper_cfg.recipes
    plan = Plan(paper, profile_name)
    stand_in = stand_in_choices(config, paper, profile)
    known = choices or {}
    teachers = plan.teachers = Teachers(declared)
    origins: dict[tuple[str, str], tuple[str, tuple]] = {}  # (trial id, run name) -> (experiment, settings)
    names = sorted(config.experiments(paper, experiments), key=lambda n: stage_depth(declared, n))
    for exp_name in teacher_order(declared, names):
        exp = declared[exp_name]
        plan.stages[exp_name] = stage_depth(declared, exp_name)
        tasks = profile_tasks(profile, exp_name, exp)
        needed = {t: [(source, t, arm) for _, source, arm in references(exp)] for t in tasks}
        ready = [t for t in tasks if all(k in known for k in needed[t])]
        skip = profile.skip.get(exp_name) or search_only(paper, exp_name, exp)
        if skip or len(ready) < len(tasks):
            later = tasks if skip else [t for t in tasks if t not in ready]
            members, specs = expand_experiment(profile, recipes, exp_name, exp, later, {**stand_in, **known},
                                               teachers)
            origins.update({(s.trial_id, s.name): (exp_name, m.values) for m, s in zip(members, specs)})
            if (exp.search or {}).get("samples"):  # the points a search would draw, not the whole grid
                drawn = {m.trial_id for m in sample_points(members, exp.search["samples"],
                                                           exp.search.get("sample_seed", 0))}
                specs = [s for s in specs if s.trial_id in drawn]
            plan.estimates[exp_name] = specs
            if skip:
                plan.skipped[exp_name] = skip
                continue
            waiting = sorted({_waiting_for(k[0]) for t in tasks if t not in ready for k in needed[t]
                              if k not in known})
            plan.pending[exp_name] = (f"{', '.join(t for t in tasks if t not in ready)}: planned from "
                                      f"{', '.join(waiting)}")
            searches = sorted({k[0][len(SEARCH_PREFIX):] for t in tasks if t not in ready for k in needed[t]
                               if k not in known and k[0].startswith(SEARCH_PREFIX)})
            if searches:  # reproduce never runs a search: these trials wait for the user's `make search`
                plan.searches[exp_name] = "waits for " + ", ".join(
                    f"`make search PAPER={paper} EXPERIMENT={name}`" for name in searches)
        members, specs = expand_experiment(profile, recipes, exp_name, exp, ready, known, teachers)
        origins.update({(s.trial_id, s.name): (exp_name, m.values) for m, s in zip(members, specs)})
        if members or exp_name not in plan.pending:
            plan.experiments[exp_name] = members
        for spec in specs:
            plan.specs.setdefault(spec.trial_id, spec)
    return distinct_names(plan, origins)


def distinct_names(plan: Plan, origins: dict) -> Plan:
    """Run names unique within the paper's MLflow experiment: a name that several trials got (the same task, seeds
    and arm name in two experiments, e.g. selfdistill's "QNLI-proxy s1 base" of ensembles and stability) is
    followed by the settings that set each apart, else its experiment, else its trial id. ``origins``: {(trial
    id, name): (experiment, settings)} of the member each name was made for."""
    named = {}  # trial id -> its name: a planned trial's, else its first stand-in's
    for spec in [*plan.unique(), *(s for specs in plan.estimates.values() for s in specs)]:
        named.setdefault(spec.trial_id, spec.name)
    groups: dict[str, list[str]] = {}
    for trial, name in named.items():
        groups.setdefault(name, []).append(trial)
    renamed = {}
    for name, trials in groups.items():
        if len(trials) > 1:
            renamed.update(_told_apart(name, {t: origins[(t, name)] for t in trials}))
    if not renamed:
        return plan

    def rename(spec: TrialSpec) -> TrialSpec:
        new = renamed.get(spec.trial_id) if spec.name == named[spec.trial_id] else None
        return dataclasses.replace(spec, name=new) if new else spec
    plan.specs = {i: rename(s) for i, s in plan.specs.items()}
    plan.estimates = {e: [rename(s) for s in specs] for e, specs in plan.estimates.items()}
    return plan


def _told_apart(name: str, origins: dict[str, tuple]) -> dict[str, str]:
    """{trial id: name + what sets it apart} for trials that share ``name``."""
    settings = {t: dict(values) for t, (_, values) in origins.items()}
    keys = list(dict.fromkeys(k for values in settings.values() for k in values))
    differ = [k for k in keys if len({repr(values.get(k)) for values in settings.values()}) > 1]
    out = {t: " ".join([name, *(_apart_label(k, v) for k, v in values.items() if k in differ)])
           for t, values in settings.items()}
    if len(set(out.values())) < len(out):
        out = {t: f"{out[t]} ({origins[t][0]})" for t in out}
    if len(set(out.values())) < len(out):
        out = {t: f"{out[t]} {t[:8]}" for t in out}
    return out


def _apart_label(key: str, value) -> str:
    return key if value is True else setting_label(key, value)


def train_size(cfg: TrainConfig) -> int:
    """Training examples of a trial from the task's sizes (no file is read); full_train: every training row
    outside the validation sample (Appendix D)."""
    task = get_task(cfg.task)
    if cfg.dev_halves:
        full = task.train_rows
    else:
        full = task.train_rows - task.sizes[1] if cfg.full_train and task.recipe == "large" else task.sizes[0]
    return min(full, cfg.train_examples or full)


def eval_size(cfg: TrainConfig) -> tuple[int, int]:
    _, val, test = get_task(cfg.task).sizes
    if cfg.dev_halves:  # dev (the large recipe's test) halved per class, the larger half to validation
        val, test = (test + 1) // 2, test // 2
    cap = cfg.eval_examples or max(val, test)
    return min(val, cap), min(test, cap)


TEACHER_FORWARD = 0.26  # a self-teacher's forward pass, in training steps (measured: SDA 1.4x, SDV(5) 2.3x a step)


def trial_seconds(cfg: TrainConfig, cost: dict) -> float:
    """Estimated accelerator seconds of one trial: steps (and a self-teacher's forward passes: one for SDA, K for
    SDV) plus validation passes plus two test passes (and SE's and the saved logits' passes). A multitask trial
    counts sentence passes (trainers.multitask.train.plan_seconds)."""
    if get_task(cfg.task).parts:
        # imported here: the multitask trainer pulls in torch, which `suite plan` and config errors do without
        from trainers.multitask.train import plan_seconds
        return plan_seconds(cfg, cost)
    steps = total_steps(cfg, train_size(cfg))
    val, test = eval_size(cfg)
    evaluated = val * len(eval_steps(steps, cfg.evaluations)) + 2 * test + (2 * (val + test) if cfg.ensemble_outputs
                                                                             else 0)
    forwards = {"sda": 1, "sdv": cfg.teacher_k or 1}.get(cfg.self_teacher, 0)
    return (steps * cost["seconds_per_step"] * (1 + TEACHER_FORWARD * forwards)
            + evaluated * cost["seconds_per_eval_example"])


@dataclass(frozen=True)
class PlanTotals:
    """A paper's plan summed once per trial id: every planned trial (pending and skipped stages costed with their
    stand-in specs) and those that can run here."""
    paper: str
    unique: int
    runnable: int
    hours: float  # accelerator hours: GPU-hours on a GPU profile, CPU-hours (one thread per trial slot) otherwise
    runnable_hours: float
    unit: str
    runnable_ids: frozenset = frozenset()


def cost_unit(profile: Profile) -> str:
    return "GPU-hours" if profile.resources["gpus_per_trial"] else "CPU-hours"


def trial_hours(cfg: TrainConfig, profile: Profile) -> float:
    """One trial's accelerator hours: its seconds times the share of a GPU it holds (0.25 GPU for 4 h is 1 GPU-hour),
    or its CPU slot's seconds on a CPU profile."""
    share = profile.resources["gpus_per_trial"] or 1
    return trial_seconds(cfg, model_cost(cfg, profile)) * share / 3600


def model_cost(cfg: TrainConfig, profile: Profile) -> dict:
    """The trial's cost per step: its model role's own `cost` (a teacher is slower than its student), else the
    profile's."""
    for role in profile.models.values():
        if "cost" in role and (role["model"], role.get("num_layers")) == (cfg.model, cfg.num_layers):
            return role["cost"]
    return profile.cost


def _row_status(plan: Plan, name: str, specs: list[TrialSpec], why: dict[str, str | None]) -> str:
    from collections import Counter
    if name in plan.skipped:
        return f"not run at this profile: {plan.skipped[name]}"
    status = f"pending ({plan.pending[name]})" if name in plan.pending else "planned"
    blocked = Counter(why[s.trial_id] for s in specs if why[s.trial_id])
    if blocked:
        status += "; not runnable here: " + "; ".join(f"{n} trials, {reason}" for reason, n in blocked.items())
    return status


def describe(plan: Plan, profile: Profile) -> tuple[str, PlanTotals]:
    """The table `suite plan` prints (trials per experiment, how many can run here, estimated hours, status; every
    row that cannot run here says why) and the paper's totals, shared trials counted once."""
    unit = cost_unit(profile)
    lines = [f"Plan for {plan.paper} at profile {plan.profile} ({profile.description})",
             f"{'experiment':<20} {'stage':>5} {'trials':>7} {'here':>6} {unit:>10}  status"]
    why: dict[str, str | None] = {}
    everything: dict[str, TrialSpec] = {}
    rows = {name: [plan.specs[i] for i in plan.ids(name)] + plan.estimates.get(name, []) for name in plan.stages}
    for name, specs in rows.items():
        for spec in specs:
            if spec.trial_id not in why:
                why[spec.trial_id] = plan.skipped.get(name) or reason(spec.config) or (
                    plan.searches.get(name) if spec.trial_id not in plan.specs else None)
            elif name not in plan.skipped and why[spec.trial_id] in plan.skipped.values():
                why[spec.trial_id] = reason(spec.config)  # a trial another experiment runs is not skipped
            everything.setdefault(spec.trial_id, spec)
    why = taught_by(everything.values(), why)
    for name, stage in plan.stages.items():
        specs = rows[name]
        here = sum(1 for s in specs if not why[s.trial_id] and name not in plan.skipped)
        hours = sum(trial_hours(s.config, profile) for s in specs)
        lines.append(f"{name:<20} {stage:>5} {len(specs):>7} {here:>6} {hours:>10.1f}  "
                     f"{_row_status(plan, name, specs, why)}")
    runnable = [s for i, s in everything.items() if not why[i]]
    totals = PlanTotals(plan.paper, len(everything), len(runnable),
                        sum(trial_hours(s.config, profile) for s in everything.values()),
                        sum(trial_hours(s.config, profile) for s in runnable), unit,
                        frozenset(s.trial_id for s in runnable))
    cost = profile.cost
    lines += [
        f"Total for {plan.paper}: {totals.unique:,} unique trials ({totals.hours:,.1f} {unit}), "
        f"{totals.runnable:,} runnable here ({totals.runnable_hours:,.1f} {unit})" + _wall(totals, profile),
        "Rows count a trial in every experiment that uses it; the total counts it once (shared trials run once). "
        "'here': the trial's data and checkpoint are available on this machine (offline assets, or the hub when "
        "reachable) and the profile does not skip it.",
        f"Pending stages are costed with a stand-in choice; cost assumes {cost['seconds_per_step']} s/step, "
        f"{cost['seconds_per_eval_example']} s/eval example per trial at "
        f"{_resources(profile)}" + "".join(
            f"; {role['model']}: {role['cost']['seconds_per_step']} s/step, "
            f"{role['cost']['seconds_per_eval_example']} s/eval example"
            for role in {r["model"]: r for r in profile.models.values() if "cost" in r}.values())
        + ".",
    ]
    return "\n".join(lines), totals


def _resources(profile: Profile) -> str:
    r = profile.resources
    return f"{r['gpus_per_trial']:g} GPU per trial" if r["gpus_per_trial"] else f"{r['cpus_per_trial']:g} CPU per trial"


def slots(profile: Profile) -> int:
    """Trials at a time on this machine: a CPU profile's cores / cpus_per_trial (1 on a GPU profile)."""
    import os
    if profile.resources["gpus_per_trial"]:
        return 1
    return max(1, int((os.cpu_count() or 1) // profile.resources["cpus_per_trial"]))


def _wall(totals: PlanTotals, profile: Profile) -> str:
    """On a CPU profile, the wall time on this machine: its cores hold cores / cpus_per_trial trials at once."""
    if profile.resources["gpus_per_trial"] or not totals.runnable:
        return ""
    slots_ = slots(profile)
    return f"; about {totals.runnable_hours / slots_:,.1f} h wall on this machine ({slots_} trials at a time)"


def describe_suite(totals: list[PlanTotals], profile_name: str) -> str:
    """`suite plan all`: one line per paper and the suite's total (trials are counted per paper)."""
    unit = totals[0].unit
    lines = [f"Suite at profile {profile_name}", f"{'paper':<24} {'trials':>8} {'here':>8} {unit:>12} {'here':>10}"]
    lines += [f"{t.paper:<24} {t.unique:>8,} {t.runnable:>8,} {t.hours:>12,.1f} {t.runnable_hours:>10,.1f}"
              for t in totals]
    lines.append(f"{'all papers':<24} {sum(t.unique for t in totals):>8,} {sum(t.runnable for t in totals):>8,} "
                 f"{sum(t.hours for t in totals):>12,.1f} {sum(t.runnable_hours for t in totals):>10,.1f}")
    return "\n".join(lines)
