"""The multitask trainer's settings (suite.yaml arm settings, TrainConfig.multitask_args): how batches are
scheduled, which heads and losses, and the methods layered on top. Each is validated here, so a bad value is a
one-line error naming what is valid; an unset setting takes its default here (never in the trial id)."""
from __future__ import annotations

from trainers.objectives import Setting

PARTS = ("sst", "para", "sts")  # SST-5 sentiment, Quora paraphrase, STS similarity
SAMPLERS = ("sequential", "rr_unbalanced", "rr_balanced", "even")
STEPS = ("batch", "round")
CONSISTENCY = ("none", "mse", "kl")


def _one_of(valid):
    return lambda v: v in valid, f"one of {', '.join(valid)}"


def _number(low: float, high: float | None = None, integer: bool = False):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int if integer else (int, float)):
            return False
        return v >= low and (high is None or v <= high)
    span = f"[{low}, {high}]" if high is not None else f">= {low}"
    return check, f"{'an integer' if integer else 'a number'} {span}"


def _parts(v) -> bool:
    names = v.split("+") if isinstance(v, str) else []
    return bool(names) and len(set(names)) == len(names) and all(n in PARTS for n in names)


def _setting(check_expected, default) -> Setting:
    check, expected = check_expected
    return Setting(check, expected, default)


SETTINGS: dict[str, Setting] = {
    # which tasks train (single-task rows evaluate all three heads; Qin & Tran Table 1)
    "train_tasks": Setting(_parts, f"tasks joined by + from {', '.join(PARTS)} (e.g. sst+para+sts)", "sst+para+sts"),
    "sampler": _setting(_one_of(SAMPLERS), "rr_balanced"),
    "step": _setting(_one_of(STEPS), "batch"),  # one update per task batch, or the round's losses summed
    "balanced_examples": _setting(_number(0, integer=True), 0),  # per task per epoch; 0 = the smallest task's size
    "sst_weight": _setting(_number(0), 1.0),
    "para_weight": _setting(_number(0), 1.0),  # Venkateswaran: the paraphrase loss x 0.1
    "sts_weight": _setting(_number(0), 1.0),
    "para_head": _setting(_one_of(("dot", "concat", "cosine")), "concat"),
    "sts_head": _setting(_one_of(("cosine", "regression", "classes")), "cosine"),
    "head_dropout": _setting(_number(0, 0.99), 0.3),
    "head_bias": _setting(_one_of(("zero", "prior")), "zero"),  # prior: output biases at the training labels' statistics
    "pooling": _setting(_one_of(("cls", "mean")), "cls"),  # the sentence vector the heads read
    "consistency": _setting(_one_of(CONSISTENCY), "none"),  # mean teacher (Tarvainen & Valpola 2017)
    "consistency_weight": _setting(_number(0), 1.0),
    "consistency_rampup": _setting(_number(0), 0.0),  # epochs of the sigmoid ramp-up
    "ema_decay": _setting(_number(0, 1), 0.99),
    "simcse_weight": _setting(_number(0), 0.0),  # on the STS batch's sentences
    "simcse_temperature": _setting(_number(1e-6), 0.05),
    "mnr_weight": _setting(_number(0), 0.0),  # on the STS batch's pairs
    "smart_weight": _setting(_number(0), 0.0),
    "swa_epochs": _setting(_number(0, integer=True), 0),  # extra epochs whose end weights are averaged
    "lp_epochs": _setting(_number(0, integer=True), 0),  # epochs with the encoder frozen, before fine-tuning
    "lr_schedule": _setting(_one_of(("linear", "constant")), "linear"),  # constant: Qin & Tran's "flat" rates
    "score": _setting(_one_of(("plain", "normalised")), "normalised"),  # the dev average's STS term: r or (r+1)/2
}


def resolve(args: dict) -> dict:
    """``args`` checked, with defaults filled; ValueError names the bad setting and what is valid."""
    out = {}
    for key in args:
        if key not in SETTINGS:
            raise ValueError(f"multitask has no setting {key!r} (valid: {', '.join(SETTINGS)})")
    for key, setting in SETTINGS.items():
        value = args.get(key, setting.default)
        if not setting.check(value):
            raise ValueError(f"multitask setting {key}={value!r} is invalid (expected {setting.expected})")
        out[key] = value
    return out
