"""suite.yaml + paper + profile -> immutable trial specs with deterministic ids.

A trial id hashes the training config alone, so experiments that ask for the same training (Table 1's
Standard and Figure 2's debiased Adam, seeds 1..20) share one trial and it runs once.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

from pipelines.config import SuiteConfig
from trainers.glue import get_task
from trainers.loop import TrainConfig, eval_steps, total_steps

# Training-set sizes of the full GLUE train files (Table 3), for planning and Figure 1 without reading files.
FULL_TRAIN = {"RTE": 2490, "MRPC": 3668, "STS-B": 5749, "CoLA": 8551, "MNLI": 392702}
LARGE_TRAIN = 1000  # the 1k-downsampled recipe
FULL_EVAL = {"RTE": (139, 138), "MRPC": (205, 203), "STS-B": (751, 749), "CoLA": (522, 521)}


def depth_label(depth) -> str:
    return {"none": "standard", "pooler": "reinit-pooler"}.get(depth, f"reinit-{depth}")


def trial_id(cfg: TrainConfig) -> str:
    canonical = json.dumps(cfg.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TrialSpec:
    trial_id: str
    config: TrainConfig
    method: str  # e.g. "adamw/standard", "bertadam/standard", "adamw/reinit-2"
    seed: int

    def tags(self) -> dict[str, str]:
        return {"trial_id": self.trial_id, "task": self.config.task, "method": self.method,
                "optimizer": self.config.optimizer, "init_seed": str(self.config.init_seed),
                "data_seed": str(self.config.data_seed), "seed": str(self.seed)}


@dataclass
class Plan:
    paper: str
    profile: str
    experiments: dict[str, list[str]] = field(default_factory=dict)  # experiment -> trial ids
    specs: dict[str, TrialSpec] = field(default_factory=dict)  # trial id -> spec

    def unique(self) -> list[TrialSpec]:
        return list(self.specs.values())


def _train_config(profile: dict, task: str, optimizer: str, depth, seed: int) -> TrainConfig:
    return TrainConfig(
        task=task, model=profile["model"], optimizer=optimizer, lr=float(profile["lr"]),
        batch_size=profile["batch_size"], epochs=float(profile["epochs"]),
        warmup_ratio=float(profile["warmup_ratio"]), max_grad_norm=float(profile["max_grad_norm"]),
        weight_decay=float(profile["weight_decay"]), adam_epsilon=float(profile["adam_epsilon"]),
        max_seq_len=profile["max_seq_len"], num_layers=profile["num_layers"],
        reinit_pooler=depth != "none", reinit_layers=depth if isinstance(depth, int) else 0,
        evaluations=profile["evaluations"], train_examples=profile["train_examples"],
        eval_examples=profile["eval_examples"], init_seed=seed, data_seed=seed,
    )


def make_plan(config: SuiteConfig, paper: str, profile_name: str | None = None,
              experiments: list[str] | None = None) -> Plan:
    profile_name, profile = config.profile(profile_name)
    paper_cfg = config.paper(paper)
    plan = Plan(paper, profile_name)
    for exp_name in config.experiments(paper, experiments):
        exp = paper_cfg["experiments"][exp_name]
        grid = exp["grid"]
        depths = profile["reinit_depths"] if grid.get("reinit") == "profile" else grid.get("reinit", ["none"])
        tasks = [t for t in exp["tasks"] if profile["tasks"] is None or t in profile["tasks"]]
        ids = []
        for task in tasks:
            for optimizer in grid.get("optimizer", ["adamw"]):
                for depth in depths:
                    for seed in range(1, profile["seeds"][exp["seeds"]] + 1):
                        cfg = _train_config(profile, task, optimizer, depth, seed)
                        spec = TrialSpec(trial_id(cfg), cfg, f"{optimizer}/{depth_label(depth)}", seed)
                        plan.specs.setdefault(spec.trial_id, spec)
                        ids.append(spec.trial_id)
        plan.experiments[exp_name] = ids
    return plan


def train_size(cfg: TrainConfig) -> int:
    full = LARGE_TRAIN if get_task(cfg.task).recipe == "large" else FULL_TRAIN[cfg.task]
    return min(full, cfg.train_examples or full)


def eval_size(cfg: TrainConfig) -> int:
    val, test = FULL_EVAL.get(cfg.task, (LARGE_TRAIN, LARGE_TRAIN))
    cap = cfg.eval_examples or max(val, test)
    return min(val, cap), min(test, cap)


def trial_seconds(cfg: TrainConfig, cost: dict) -> float:
    """Estimated accelerator seconds of one trial: steps plus validation passes plus two test passes."""
    steps = total_steps(cfg, train_size(cfg))
    val, test = eval_size(cfg)
    evaluated = val * len(eval_steps(steps, cfg.evaluations)) + 2 * test
    return steps * cost["seconds_per_step"] + evaluated * cost["seconds_per_eval_example"]


def describe(plan: Plan, profile: dict) -> str:
    """The table `suite plan` prints: trials per experiment, unique total, estimated GPU-hours."""
    unit = "GPU-hours" if profile["resources"]["gpus_per_trial"] else "CPU-hours"
    lines = [f"Plan for {plan.paper} at profile {plan.profile} ({profile['description']})",
             f"{'experiment':<20} {'trials':>7} {unit:>10}"]
    for name, ids in plan.experiments.items():
        hours = sum(trial_seconds(plan.specs[i].config, profile["cost"]) for i in ids) / 3600
        lines.append(f"{name:<20} {len(ids):>7} {hours:>10.1f}")
    total = sum(trial_seconds(s.config, profile["cost"]) for s in plan.unique()) / 3600
    shared = sum(len(ids) for ids in plan.experiments.values()) - len(plan.specs)
    lines.append(f"{'unique trials':<20} {len(plan.specs):>7} {total:>10.1f}")
    lines.append(f"({shared} trials are shared between experiments and run once; "
                 f"cost assumes {profile['cost']['seconds_per_step']} s/step, "
                 f"{profile['cost']['seconds_per_eval_example']} s/eval example per trial)")
    return "\n".join(lines)
