"""A trial's configuration: every setting that decides its numbers (its fingerprint is the trial id), and the
step arithmetic planning shares with the trainer. No torch here: planning, config checks and reports import it."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass

PRECISIONS = ("fp32", "fp16", "bf16")

# The version of what the trainers compute, part of every trial id: a cached run is a promise that today's code gives
# its numbers. Bump it with any change that moves a finished trial's metrics (tests/test_numerics.py pins a few smoke
# trials of each trainer kind and fails until it moves). History:
#   1 (no version in the id): up to 55cbb96, whose fix drew the weights a checkpoint lacks (paraphrase-MiniLM-L3-v2's
#     pooler) from the init seed, not from the global RNG a Ray worker's earlier trials had moved; its ids stayed.
#   2: from 55cbb96 and 732b495 (one loop for both kinds; the mean teacher in train mode) on.
NUMERICS_VERSION = 2


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a trial's numbers; its fingerprint is the trial id."""
    task: str
    model: str
    optimizer: str = "adamw"
    lr: float = 2e-5
    batch_size: int = 32
    epochs: float = 3.0
    max_steps: int | None = None  # a step budget overrides epochs (the "Longer" study, Table 6 recipes)
    warmup_ratio: float = 0.1
    warmup_steps: int | None = None  # overrides warmup_ratio (Table 6 recipes)
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0
    adam_epsilon: float = 1e-6
    max_seq_len: int = 128
    num_layers: int | None = None  # truncate the encoder to its first k blocks
    reinit_pooler: bool = False
    reinit_layers: int = 0
    llrd: float | None = None  # layer-wise LR decay rate (Sec. 7.1)
    mixout: float = 0.0  # Mixout probability p (Sec. 7.1)
    pretrained_wd: float = 0.0  # strength of the pull toward the pre-trained weights (Sec. 7.1)
    intermediate: str | None = None  # fine-tune on this task first (Phang et al. 2018; Sec. 7.1)
    precision: str = "fp32"  # fp16 / bf16: autocast mixed precision (Appendix C)
    full_train: bool = False  # large tasks: all of train but the validation sample (Appendix D, MNLI)
    batching: str = "random"  # or length_grouped: similar lengths per batch, less padding (trainers.batching)
    evaluations: int = 10
    train_examples: int | None = None  # stratified subsample of the train split
    eval_examples: int | None = None  # cap on validation and test sizes
    init_seed: int = 0
    data_seed: int = 0
    objective: str = "ce"  # the loss, computed from the logits (trainers.objectives)
    objective_args: tuple = ()  # the objective's settings as sorted (name, value) pairs, e.g. (("alpha", 0.5),)
    teacher: str | None = None  # trial id of the finished trial whose train-set logits KD / Self-KD read ("+"-joined
    # ids: an ensemble of teachers, whose predictions are averaged)
    random_init: bool = False  # fresh weights of the same architecture (Kobyzev et al. Tables 7 and 9)
    dev_halves: bool = False  # large tasks: train on the train file, validate and test on the two halves of dev
    head_lr: float | None = None  # the new classifier layer's own lr (Xu et al. Sec. 4.2: 1e-3 for the softmax layer)
    self_teacher: str | None = None  # sda | sdv: the objective's teacher is the run's own earlier steps (Xu et al.)
    teacher_k: int | None = None  # the self-teacher's window in steps; None = every previous step (SDA, K = T-1)
    ensemble_outputs: bool = False  # keep what SE, VOTE and AVG need: SE's running mean, final logits and weights
    multitask_args: tuple = ()  # a multitask task's settings (trainers.multitask.settings) as sorted pairs
    part_examples: tuple = ()  # a multitask task's training caps per part, e.g. (("sst", 854),)

    def __post_init__(self):  # a config read back from JSON carries lists: keep the id and hashing stable
        for name in ("objective_args", "multitask_args", "part_examples"):
            object.__setattr__(self, name, tuple(tuple(pair) for pair in getattr(self, name)))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def teachers(self) -> tuple[str, ...]:
        """The teacher trial ids: none, one, or an ensemble's members."""
        return tuple(self.teacher.split("+")) if self.teacher else ()

    def fingerprint(self) -> str:
        """Hash of the fields that differ from their defaults (adding a new method with an 'off' default leaves
        every existing trial id, and its finished MLflow runs, valid) and of NUMERICS_VERSION."""
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.default is not dataclasses.MISSING}
        canonical = {k: v for k, v in self.to_dict().items() if k not in defaults or defaults[k] != v}
        canonical["numerics"] = NUMERICS_VERSION
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def total_steps(cfg: TrainConfig, n_train: int) -> int:
    return cfg.max_steps or max(1, math.ceil(cfg.epochs * math.ceil(n_train / cfg.batch_size)))


def eval_steps(total: int, evaluations: int) -> list[int]:
    return sorted({max(1, round(k * total / evaluations)) for k in range(1, evaluations + 1)})
