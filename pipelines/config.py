"""Load and validate suite.yaml. Every mistake is a ConfigError with a one-line message naming the key."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from trainers.glue import TASKS
from trainers.optim import OPTIMIZERS

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "suite.yaml"

TOP_KEYS = {"default_profile", "runs_dir", "profiles", "papers"}
PROFILE_KEYS = {
    "description", "model", "num_layers", "max_seq_len", "batch_size", "lr", "epochs", "warmup_ratio",
    "max_grad_norm", "weight_decay", "adam_epsilon", "evaluations", "train_examples", "eval_examples", "tasks",
    "seeds", "reinit_depths", "resources", "cost",
}
SEED_KEYS = {"table", "many"}
RESOURCE_KEYS = {"cpus_per_trial", "gpus_per_trial"}
COST_KEYS = {"seconds_per_step", "seconds_per_eval_example"}
PAPER_KEYS = {"title", "source", "report", "experiments"}
EXPERIMENT_KEYS = {"about", "tasks", "seeds", "grid"}
GRID_KEYS = {"optimizer", "reinit"}


class ConfigError(ValueError):
    """A bad suite.yaml or a bad choice on the command line."""


def _choices(valid) -> str:
    return ", ".join(str(v) for v in valid)


def _check_keys(where: str, mapping, allowed: set[str], required: bool = True) -> None:
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (valid: {_choices(sorted(allowed))})")
    if required:
        missing = sorted(allowed - set(mapping))
        if missing:
            raise ConfigError(f"{where}: missing key {missing[0]!r}")


def parse_depth(where: str, value):
    """A Re-init depth: 'none' (standard), 'pooler' (pooler only) or L >= 1 (pooler and the top L blocks)."""
    if value in ("none", "pooler") or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise ConfigError(f"{where}: bad Re-init depth {value!r} (valid: none, pooler, or an integer >= 1)")


def _check_tasks(where: str, tasks) -> None:
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError(f"{where}: expected a non-empty list of tasks")
    for task in tasks:
        if task not in TASKS:
            raise ConfigError(f"{where}: unknown task {task!r} (valid: {_choices(TASKS)})")


def _positive(where: str, value, kind=(int, float), allow_none=False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise ConfigError(f"{where}: expected a positive number, got {value!r}")


def _check_profile(name: str, profile) -> None:
    where = f"profiles.{name}"
    _check_keys(where, profile, PROFILE_KEYS)
    if not isinstance(profile["model"], str):
        raise ConfigError(f"{where}.model: expected a model name")
    for key in ("max_seq_len", "batch_size", "evaluations"):
        _positive(f"{where}.{key}", profile[key], int)
    for key in ("lr", "epochs", "max_grad_norm", "adam_epsilon"):
        _positive(f"{where}.{key}", profile[key])
    for key in ("num_layers", "train_examples", "eval_examples"):
        _positive(f"{where}.{key}", profile[key], int, allow_none=True)
    for key in ("warmup_ratio", "weight_decay"):
        if not isinstance(profile[key], (int, float)) or not 0 <= profile[key] < 1:
            raise ConfigError(f"{where}.{key}: expected a number in [0, 1), got {profile[key]!r}")
    if profile["tasks"] is not None:
        _check_tasks(f"{where}.tasks", profile["tasks"])
    _check_keys(f"{where}.seeds", profile["seeds"], SEED_KEYS)
    for key, value in profile["seeds"].items():
        _positive(f"{where}.seeds.{key}", value, int)
    if not isinstance(profile["reinit_depths"], list) or not profile["reinit_depths"]:
        raise ConfigError(f"{where}.reinit_depths: expected a non-empty list")
    for depth in profile["reinit_depths"]:
        parse_depth(f"{where}.reinit_depths", depth)
        if isinstance(depth, int) and profile["num_layers"] and depth > profile["num_layers"]:
            raise ConfigError(f"{where}.reinit_depths: depth {depth} exceeds num_layers {profile['num_layers']}")
    _check_keys(f"{where}.resources", profile["resources"], RESOURCE_KEYS)
    _positive(f"{where}.resources.cpus_per_trial", profile["resources"]["cpus_per_trial"])
    gpus = profile["resources"]["gpus_per_trial"]
    if isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or gpus < 0:
        raise ConfigError(f"{where}.resources.gpus_per_trial: expected a number >= 0")
    _check_keys(f"{where}.cost", profile["cost"], COST_KEYS)
    for key, value in profile["cost"].items():
        _positive(f"{where}.cost.{key}", value)


def _check_experiment(where: str, exp) -> None:
    _check_keys(where, exp, EXPERIMENT_KEYS)
    _check_tasks(f"{where}.tasks", exp["tasks"])
    if exp["seeds"] not in SEED_KEYS:
        raise ConfigError(f"{where}.seeds: unknown seed set {exp['seeds']!r} (valid: {_choices(sorted(SEED_KEYS))})")
    _check_keys(f"{where}.grid", exp["grid"], GRID_KEYS, required=False)
    for method in exp["grid"].get("optimizer", ["adamw"]):
        if method not in OPTIMIZERS:
            raise ConfigError(f"{where}.grid.optimizer: unknown method {method!r} (valid: {_choices(OPTIMIZERS)})")
    reinit = exp["grid"].get("reinit", ["none"])
    if reinit != "profile":
        if not isinstance(reinit, list):
            raise ConfigError(f"{where}.grid.reinit: expected a list of depths or 'profile'")
        for depth in reinit:
            parse_depth(f"{where}.grid.reinit", depth)


@dataclass(frozen=True)
class SuiteConfig:
    path: Path
    data: dict

    @property
    def runs_dir(self) -> Path:
        return (self.path.parent / self.data["runs_dir"]).resolve()

    def paper(self, name: str) -> dict:
        papers = self.data["papers"]
        if name not in papers:
            raise ConfigError(f"unknown paper {name!r} (valid: {_choices(papers)})")
        return papers[name]

    def profile(self, name: str | None) -> tuple[str, dict]:
        name = name or self.data["default_profile"]
        profiles = self.data["profiles"]
        if name not in profiles:
            raise ConfigError(f"unknown profile {name!r} (valid: {_choices(profiles)})")
        return name, profiles[name]

    def experiments(self, paper: str, chosen: list[str] | None) -> list[str]:
        names = list(self.paper(paper)["experiments"])
        for name in chosen or []:
            if name not in names:
                raise ConfigError(f"unknown experiment {name!r} for paper {paper!r} (valid: {_choices(names)})")
        return [n for n in names if not chosen or n in chosen]


def validate(data, path: Path) -> None:
    where = path.name
    _check_keys(where, data, TOP_KEYS)
    if not isinstance(data["profiles"], dict) or not data["profiles"]:
        raise ConfigError(f"{where}: profiles: expected at least one profile")
    for name, profile in data["profiles"].items():
        try:
            _check_profile(name, profile)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if data["default_profile"] not in data["profiles"]:
        raise ConfigError(f"{where}: default_profile: unknown profile {data['default_profile']!r} "
                          f"(valid: {_choices(data['profiles'])})")
    if not isinstance(data["papers"], dict) or not data["papers"]:
        raise ConfigError(f"{where}: papers: expected at least one paper")
    for name, paper in data["papers"].items():
        try:
            _check_keys(f"papers.{name}", paper, PAPER_KEYS)
            if not isinstance(paper["experiments"], dict) or not paper["experiments"]:
                raise ConfigError(f"papers.{name}.experiments: expected at least one experiment")
            for exp_name, exp in paper["experiments"].items():
                _check_experiment(f"papers.{name}.experiments.{exp_name}", exp)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def load(path: str | Path | None = None) -> SuiteConfig:
    path = Path(path or DEFAULT_CONFIG).resolve()
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML ({str(exc).splitlines()[0]})") from None
    validate(data, path)
    return SuiteConfig(path, data)
