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

from pipelines.config import SEARCH_PREFIX, SuiteConfig, references, source_key, stage_depth
from trainers.glue import get_task
from trainers.loop import TrainConfig, eval_steps, total_steps

# Training-set sizes of the full GLUE train files (Table 3), for planning and Figure 1 without reading files.
FULL_TRAIN = {"RTE": 2490, "MRPC": 3668, "STS-B": 5749, "CoLA": 8551, "SST-2": 67349, "QNLI": 104743,
              "QQP": 363846, "MNLI": 392702}
LARGE_TRAIN = 1000  # the 1k-downsampled recipe
FULL_EVAL = {"RTE": (139, 138), "MRPC": (205, 203), "STS-B": (751, 749), "CoLA": (522, 521), "SST-2": (1000, 872),
             "QNLI": (1000, 5463), "QQP": (1000, 40430), "MNLI": (1000, 9815)}


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
    name: str  # run name, e.g. "RTE-reinit-reinit-2-seed3"

    def tags(self) -> dict[str, str]:
        return {"trial_id": self.trial_id, "task": self.config.task, "optimizer": self.config.optimizer,
                "init_seed": str(self.config.init_seed), "data_seed": str(self.config.data_seed)}


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

    def unique(self) -> list[TrialSpec]:
        return list(self.specs.values())

    def ids(self, experiment: str) -> list[str]:
        return [m.trial_id for m in self.experiments.get(experiment, [])]


def task_label(task: str, settings: dict) -> str:
    """Large tasks always train on 1k (Sec. 3) unless full_train; small tasks when an experiment downsamples."""
    if settings.get("full_train"):
        return task
    if get_task(task).recipe == "large" or settings.get("train_examples"):
        return f"{task} (1k)"
    return task


def _arm_settings(profile: dict, exp_name: str, exp: dict, arm: str) -> dict:
    settings = {**(exp.get("settings") or {}), **exp["arms"][arm]}
    for path, values in profile["grids"].items():
        name, which, key = path.split(".")
        if name == exp_name and which in (arm, "*") and key in settings:
            settings[key] = values
    return settings


def _train_config(profile: dict, recipes: dict, task: str, s: dict, init_seed: int, data_seed: int) -> TrainConfig:
    cap = profile["train_examples"]
    wanted = s.get("train_examples")
    train_examples = min(x for x in (cap, wanted) if x) if (cap or wanted) else None
    base = dict(
        task=task, model=profile["model"], optimizer=s.get("optimizer", "adamw"), lr=float(profile["lr"]),
        batch_size=profile["batch_size"], epochs=float(profile["epochs"]), max_steps=s.get("max_steps"),
        warmup_ratio=float(profile["warmup_ratio"]), max_grad_norm=float(profile["max_grad_norm"]),
        weight_decay=float(s.get("weight_decay", profile["weight_decay"])),
        adam_epsilon=float(profile["adam_epsilon"]), max_seq_len=profile["max_seq_len"],
        num_layers=profile["num_layers"], reinit_pooler="reinit" in s,
        reinit_layers=s["reinit"] if isinstance(s.get("reinit"), int) else 0,
        llrd=s.get("llrd"), mixout=float(s.get("mixout", 0.0)), pretrained_wd=float(s.get("pretrained_wd", 0.0)),
        intermediate=s.get("intermediate"), precision=s.get("precision", "fp32"),
        full_train=bool(s.get("full_train", False)), batching=profile.get("batching", "random"),
        evaluations=profile["evaluations"],
        train_examples=None if s.get("full_train") else train_examples, eval_examples=profile["eval_examples"],
        init_seed=init_seed, data_seed=data_seed,
    )
    if "recipe" in s:  # Table 6: the model's own hyperparameters replace the profile's
        recipe = recipes[s["recipe"]]
        hp = recipe["tasks"][task]
        base.update(model=recipe["model"], lr=float(hp["lr"]), batch_size=hp["batch_size"],
                    epochs=float(hp.get("epochs", profile["epochs"])), max_steps=hp.get("max_steps"),
                    warmup_steps=hp.get("warmup_steps"), warmup_ratio=float(hp.get("warmup_ratio", 0.0)),
                    llrd=hp.get("llrd", base["llrd"]))
    base["lr"] *= float(s.get("lr_scale", 1.0))
    return TrainConfig(**base)


def _seed_pairs(count: int, cross: bool) -> list[tuple[int, int]]:
    seeds = range(1, count + 1)
    return list(itertools.product(seeds, seeds)) if cross else [(s, s) for s in seeds]


def expand_experiment(profile, recipes, exp_name, exp, tasks, choices) -> tuple[list[Member], list[TrialSpec]]:
    """Members and specs of one experiment. ``choices``: {(source experiment, task, arm): {setting: value}}."""
    count = profile["seeds"][exp["seeds"]] if isinstance(exp["seeds"], str) else exp["seeds"]
    members, specs = [], []
    for task in tasks:
        for arm in exp["arms"]:
            settings = _arm_settings(profile, exp_name, exp, arm)
            for key, value in list(settings.items()):
                if isinstance(value, dict):
                    settings[key] = choices[(source_key(value), task, value.get("arm", arm))][key]
            grid = {k: v if isinstance(v, list) else [v] for k, v in settings.items()}
            for combo in itertools.product(*grid.values()):
                values = dict(zip(grid, combo))
                for init_seed, data_seed in _seed_pairs(count, exp.get("cross_seeds", False)):
                    cfg = _train_config(profile, recipes, task, values, init_seed, data_seed)
                    if len(grid.get("max_steps", [])) > 1 and cfg.max_steps:
                        # Sec. 6: for the small datasets, skip budgets below the 3-epoch step count.
                        if cfg.max_steps < total_steps(dataclasses.replace(cfg, max_steps=None), train_size(cfg)):
                            continue
                    label = task_label(task, values)
                    seed = f"seed{init_seed}" if init_seed == data_seed else f"init{init_seed}-data{data_seed}"
                    suffix = "-".join(setting_label(k, v) for k, v in values.items() if len(grid[k]) > 1
                                      or k in ("reinit", "max_steps"))
                    name = "-".join(p for p in (label.replace(" (1k)", "-1k"), arm, suffix, seed) if p)
                    spec = TrialSpec(trial_id(cfg), cfg, name)
                    specs.append(spec)
                    members.append(Member(spec.trial_id, label, arm, tuple(values.items()), init_seed, data_seed))
    return members, specs


def stand_in_choices(config: SuiteConfig, paper: str, profile: dict) -> dict:
    """The first candidate of every selected grid: lets a pending stage be counted and costed before it runs."""
    experiments = config.paper(paper)["experiments"]
    out = {}
    for name, exp in experiments.items():
        for arm in exp["arms"]:
            settings = _arm_settings(profile, name, exp, arm)
            select = exp.get("select") or []
            first = {k: v[0] if isinstance(v, list) else v for k, v in settings.items() if k in select}
            for task in exp["tasks"]:
                out[(name, task, arm)] = first
                if "search" in exp:
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
    profile_name, profile = config.profile(profile_name)
    paper_cfg = config.paper(paper)
    declared = paper_cfg["experiments"]
    recipes = paper_cfg.get("recipes") or {}
    plan = Plan(paper, profile_name)
    stand_in = stand_in_choices(config, paper, profile)
    known = choices or {}
    for exp_name in sorted(config.experiments(paper, experiments), key=lambda n: stage_depth(declared, n)):
        exp = declared[exp_name]
        plan.stages[exp_name] = stage_depth(declared, exp_name)
        tasks = [t for t in exp["tasks"] if profile["tasks"] is None or t in profile["tasks"]]
        needed = {t: [(source, t, arm) for _, source, arm in references(exp)] for t in tasks}
        ready = [t for t in tasks if all(k in known for k in needed[t])]
        if exp_name in profile["skip"] or len(ready) < len(tasks):
            later = tasks if exp_name in profile["skip"] else [t for t in tasks if t not in ready]
            _, specs = expand_experiment(profile, recipes, exp_name, exp, later, {**stand_in, **known})
            plan.estimates[exp_name] = specs
            if exp_name in profile["skip"]:
                plan.skipped[exp_name] = profile["skip"][exp_name]
                continue
            waiting = sorted({_waiting_for(k[0]) for t in tasks if t not in ready for k in needed[t]
                              if k not in known})
            plan.pending[exp_name] = (f"{', '.join(t for t in tasks if t not in ready)}: planned from "
                                      f"{', '.join(waiting)}")
        members, specs = expand_experiment(profile, recipes, exp_name, exp, ready, known)
        if members or exp_name not in plan.pending:
            plan.experiments[exp_name] = members
        for spec in specs:
            plan.specs.setdefault(spec.trial_id, spec)
    return plan


def train_size(cfg: TrainConfig) -> int:
    if get_task(cfg.task).recipe == "large" and not cfg.full_train:
        full = LARGE_TRAIN
    else:
        full = FULL_TRAIN[cfg.task] - (LARGE_TRAIN if cfg.full_train else 0)
    return min(full, cfg.train_examples or full)


def eval_size(cfg: TrainConfig) -> int:
    val, test = FULL_EVAL[cfg.task]
    cap = cfg.eval_examples or max(val, test)
    return min(val, cap), min(test, cap)


def trial_seconds(cfg: TrainConfig, cost: dict) -> float:
    """Estimated accelerator seconds of one trial: steps plus validation passes plus two test passes."""
    steps = total_steps(cfg, train_size(cfg))
    val, test = eval_size(cfg)
    evaluated = val * len(eval_steps(steps, cfg.evaluations)) + 2 * test
    return steps * cost["seconds_per_step"] + evaluated * cost["seconds_per_eval_example"]


def describe(plan: Plan, profile: dict) -> str:
    """The table `suite plan` prints: trials per experiment (and how many can run here), estimated hours, status."""
    from pipelines.availability import reason
    unit = "GPU-hours" if profile["resources"]["gpus_per_trial"] else "CPU-hours"
    cost = profile["cost"]
    lines = [f"Plan for {plan.paper} at profile {plan.profile} ({profile['description']})",
             f"{'experiment':<20} {'stage':>5} {'trials':>7} {'here':>6} {unit:>10}  status"]
    seen: dict[str, TrialSpec] = {}
    for name, stage in plan.stages.items():
        specs = [plan.specs[i] for i in plan.ids(name)] + plan.estimates.get(name, [])
        here = [] if name in plan.skipped else [s for s in specs if not reason(s.config)]
        status = (f"not run at this profile: {plan.skipped[name]}" if name in plan.skipped
                  else f"pending ({plan.pending[name]})" if name in plan.pending else "planned")
        for spec in here:
            seen.setdefault(spec.trial_id, spec)
        hours = sum(trial_seconds(s.config, cost) for s in specs) / 3600
        lines.append(f"{name:<20} {stage:>5} {len(specs):>7} {len(here):>6} {hours:>10.1f}  {status}")
    total = sum(trial_seconds(s.config, cost) for s in seen.values()) / 3600
    lines.append(f"{'unique, runnable here':<26} {len(seen):>14} {total:>10.1f}  "
                 "(hours of the trials that can run here)")
    lines.append("'here': trials whose data and checkpoint are available on this machine (offline assets, or the hub "
                 "when reachable).")
    lines.append(f"Trials shared between experiments run once. Pending stages are costed with a stand-in choice; "
                 f"cost assumes {cost['seconds_per_step']} s/step, {cost['seconds_per_eval_example']} s/eval example.")
    return "\n".join(lines)
