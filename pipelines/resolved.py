"""suite.yaml's papers and each paper's view of a profile (the paper's protocol, the profile's scale and its section
for the paper), as typed, frozen dataclasses that validation builds once; and the tasks an experiment trains at a
profile."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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


class _Fields(Mapping):
    """A dataclass's fields read as a read-only mapping too (obj["name"], obj.get("name")): the report modules read
    ctx.profile and ctx.paper as the suite.yaml mappings they come from."""

    def __getitem__(self, key: str):
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self.__dataclass_fields__)

    def __len__(self) -> int:
        return len(self.__dataclass_fields__)


@dataclass(frozen=True)
class Experiment(_Fields):
    """papers.<name>.experiments.<experiment> of suite.yaml, validated. Read as a mapping, it holds only the keys
    suite.yaml set (an optional one left out is not ``in`` it, and ``get`` gives the default), as the YAML did."""
    about: str
    covers: list  # the tables and figures it feeds
    tasks: list  # paper task names
    seeds: str | int  # one of the paper's seed sets, or a count
    arms: dict  # arm -> its settings
    settings: dict | None = None  # shared by every arm
    select: list | None = None  # how a later stage picks from this one's arms
    cross_seeds: bool | None = None
    init_seed: int | None = None
    search: dict | None = None  # the ASHA search block

    def __getitem__(self, key: str):
        value = super().__getitem__(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self):
        return (k for k in self.__dataclass_fields__ if getattr(self, k) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Paper(_Fields):
    """papers.<name> of suite.yaml, validated."""
    title: str
    source: str
    report: str  # reports/<report>/ and reports/published/<report>.yaml
    defaults: dict  # the paper's protocol
    seeds: dict  # seed set -> a count or the paper's own seeds
    experiments: dict  # name -> Experiment
    recipes: dict = field(default_factory=dict)  # Table 6: a model's own hyperparameters per task

    @classmethod
    def of(cls, paper: dict) -> "Paper":
        experiments = {name: Experiment(**exp) for name, exp in paper["experiments"].items()}
        return cls(**{**paper, "experiments": experiments, "recipes": paper.get("recipes") or {}})


@dataclass(frozen=True)
class Profile(_Fields):
    """One paper's view of a profile (resolve_profile), read by field in planning."""
    description: str
    model: str
    num_layers: int | None  # the encoder's first k blocks; None: all
    max_seq_len: int
    train_examples: int | None  # a cap on every task's training sample; None: the whole split
    eval_examples: int | None
    retries: int
    resources: dict  # cpus_per_trial, gpus_per_trial
    cost: dict  # seconds_per_step, seconds_per_eval_example
    lr: float
    batch_size: int
    epochs: float
    warmup_ratio: float
    max_grad_norm: float
    weight_decay: float
    adam_epsilon: float
    evaluations: int
    tasks: list | None  # the paper's tasks this profile keeps; None: all
    seeds: dict  # seed set -> count
    seed_lists: dict  # seed set -> its seeds at this profile
    grids: dict  # experiment.arm.setting -> values replacing the declared ones
    skip: dict  # experiment -> why this profile does not run it
    batching: str = "random"
    precision: str = "fp32"  # fp32, fp16, bf16, or auto: bf16 where this machine has bf16 units (trainers.execution)
    task_train_examples: dict = field(default_factory=dict)  # task -> its own cap in place of train_examples
    stand_ins: dict = field(default_factory=dict)  # [experiment.]paper task -> the offline task trained for it
    models: dict = field(default_factory=dict)  # model role -> {model, num_layers, cost}
    looks: dict | None = None  # BUDGET's looks: {pairs, seed_sets, spending} (pipelines.looks)

    @classmethod
    def of(cls, resolved: dict) -> "Profile":
        """From resolve_profile's mapping, once validation has found every key it needs."""
        return cls(**{**resolved, "models": resolved.get("models") or {}})


def stand_in(profile: Profile, name: str, task: str) -> str:
    """The task a resolved profile trains for a paper's task in experiment ``name``: its stand-in for that experiment
    (`stand_ins: {EXPERIMENT.TASK: ...}`), else for the paper (`{TASK: ...}`, e.g. AG -> AG-proxy), else the task."""
    stand = profile.stand_ins
    return stand.get(f"{name}.{task}", stand.get(task, task))


def profile_tasks(profile: Profile, name: str, exp: Mapping) -> list[str]:
    """The registry tasks experiment ``name`` trains at a resolved profile: its tasks that the profile keeps
    (`tasks`, in paper names), each replaced by its offline stand-in (stand_in)."""
    return [stand_in(profile, name, t) for t in exp["tasks"] if profile.tasks is None or t in profile.tasks]
