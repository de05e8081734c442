"""The shared training loop (Zhang et al. 2021, Sec. 3 setup): warm-up then linear decay, clipping, E evenly
spaced evaluations (the last at the end), the best-validation state kept in memory, and the test metric at the
best-validation point and at the last step. Separate seeds: init (head, Re-init) and data (order and dropout).
"""
from __future__ import annotations

import copy
import math
import os
import time

import numpy as np
import torch
from transformers import get_constant_schedule_with_warmup, get_linear_schedule_with_warmup

from trainers.assets import cache_dir
from trainers.config import TrainConfig, eval_steps, total_steps
from trainers.averaging import load_flat
from trainers.batching import epoch_batches
from trainers.callbacks import step_callbacks
from trainers.execution import EVAL_BATCH, autocast, cpu_bf16_attention, labels_digest
from trainers.tasks import get_task, split_seed
from trainers.metrics import score
from trainers.model import build_model
from trainers.multitask.train import MultitaskRun
from trainers.objectives import get_objective, resolve
from trainers.optim import PretrainedWeightDecay, build_optimizer
from trainers.param_distance import BlockDistance, measure_steps
from trainers.run_kind import RunKind
from trainers.tokens import TokenizedSplit, encoded_splits


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def execution_options() -> dict[str, bool]:
    """How (not what) a trial computes; logged as run tags, not part of the trial id.
    SUITE_TF32 (default 1): fp32 matrix products on TF32 tensor cores (Ampere and later GPUs).
    SUITE_COMPILE (default 0): torch.compile the model (dynamic shapes; pays off on long GPU trials).
    SUITE_CPU_EAGER_ATTENTION (default 1): bf16 trials on a CPU run eager attention (execution.cpu_bf16_attention)."""
    return {"tf32": os.environ.get("SUITE_TF32", "1") != "0", "compile": os.environ.get("SUITE_COMPILE", "0") == "1",
            "cpu_eager_attention": os.environ.get("SUITE_CPU_EAGER_ATTENTION", "1") != "0"}


def prepare_execution(model: torch.nn.Module, dev: torch.device, precision: str = "fp32") -> torch.nn.Module:
    """The module the steps call: the model itself, or its compiled form (sharing the same parameters); a bf16
    trial on a CPU runs its attention in eager form (trainers.execution.cpu_bf16_attention)."""
    options = execution_options()
    cpu_bf16_attention(model, precision, dev)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = options["tf32"]
        torch.backends.cudnn.allow_tf32 = options["tf32"]
    return torch.compile(model, dynamic=True) if options["compile"] else model


def collate(split: TokenizedSplit, indices, pad_id: int, regression: bool, dev: torch.device | None = None):
    """A batch padded to its longest row (dynamic padding)."""
    rows = [split.row(i) for i in indices]
    width = max(r.stop - r.start for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    token_types = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, r in enumerate(rows):
        n = r.stop - r.start
        input_ids[k, :n] = torch.from_numpy(split.ids[r])
        mask[k, :n] = 1
        if split.types is not None:
            token_types[k, :n] = torch.from_numpy(split.types[r])
    y = torch.from_numpy(split.labels[np.asarray(indices)]).to(torch.float if regression else torch.long)
    inputs = {"input_ids": input_ids, "attention_mask": mask}
    if split.types is not None:
        inputs["token_type_ids"] = token_types
    if dev is not None and dev.type != "cpu":
        inputs, y = {k: v.to(dev, non_blocking=True) for k, v in inputs.items()}, y.to(dev, non_blocking=True)
    return inputs, y


@torch.no_grad()
def predict(model, split, pad_id: int, regression: bool, precision: str = "fp32") -> np.ndarray:
    """The model's logits for every example of a split, in the split's order (eval mode: no dropout)."""
    model.eval()
    dev = next(model.parameters()).device
    order = np.argsort(split.lengths, kind="stable")  # length-sorted: less padding
    outputs = np.zeros((len(order), 1 if regression else model.config.num_labels), dtype=np.float32)
    for start in range(0, len(order), EVAL_BATCH):
        idx = order[start:start + EVAL_BATCH]
        inputs, _ = collate(split, idx, pad_id, regression, dev)
        with autocast(precision, dev):
            outputs[idx] = model(**inputs).logits.float().cpu().numpy()
    model.train()
    return outputs


def evaluate(model, split, pad_id: int, metric: str, regression: bool, precision: str = "fp32") -> float:
    return score(metric, predict(model, split, pad_id, regression, precision), split.labels)


def loss_function(cfg: TrainConfig, teacher_logits: np.ndarray | None = None):
    """``loss(logits, labels, teacher) -> (loss, parts)``: the config's objective on one (micro-)batch, with the
    batch's teacher logits (a stored teacher's rows for KD and Self-KD, the run's own for SD) and the objective's
    logged parts ({} for most). Checks that an objective with a teacher gets one."""
    objective = get_objective(cfg.objective)
    args = resolve(cfg.objective, dict(cfg.objective_args))
    if objective.needs_teacher and teacher_logits is None and not cfg.self_teacher:
        raise ValueError(f"objective {cfg.objective!r} needs the teacher trial's train-set logits (teacher="
                         f"{cfg.teacher!r})")
    if cfg.self_teacher and (not objective.needs_teacher or teacher_logits is not None):
        raise ValueError(f"self_teacher {cfg.self_teacher!r} needs an objective that reads a teacher (sd), and no "
                         f"teacher trial; got objective {cfg.objective!r}, teacher {cfg.teacher!r}")

    def loss(logits, labels, teacher=None):
        if objective.loss_parts:  # one pass gives the loss and the terms the curves log
            return objective.loss_parts(logits, labels, args, teacher)
        return objective.loss(logits, labels, args, teacher), {}
    return loss


def forward_backward(model, inputs: dict, labels: torch.Tensor, precision: str, scaler,
                     micro_batch: int | None = None, loss_of=None, teacher: torch.Tensor | None = None,
                     parts: dict | None = None) -> torch.Tensor:
    """The batch's mean loss (a device tensor: reading it would wait for the GPU) with its gradients accumulated
    over micro-batches of ``micro_batch`` examples (each weighted by its share of the batch: the same effective
    batch). ``loss_of(logits, labels, teacher)`` (loss_function; default cross-entropy / MSE): computed from the
    logits, with ``teacher`` the batch's teacher logits sliced with the micro-batch; the objective's parts are
    accumulated the same way into ``parts``."""
    n = labels.shape[0]
    size = micro_batch or n
    loss_of = loss_of or _default_loss
    total = None
    for start in range(0, n, size):
        part = {k: v[start:start + size] for k, v in inputs.items()}
        with autocast(precision, labels.device):
            loss, pieces = loss_of(model(**part).logits, labels[start:start + size],
                                   None if teacher is None else teacher[start:start + size])
        share = min(size, n - start) / n
        scaler.scale(loss if share == 1 else loss * share).backward()
        total = loss.detach() * share if total is None else total + loss.detach() * share
        if parts is not None:
            for name, value in pieces.items():
                parts[name] = parts.get(name, 0) + value.detach() * share
    return total


_default_loss = loss_function(TrainConfig(task="", model=""))


def optimizer_step(model, optimizer, scaler, max_grad_norm: float, before_update=None) -> None:
    """Unscale (fp16), clip, an optional hook (pre-trained weight decay), the update, and fresh gradients."""
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    if before_update:
        before_update()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)


class LossLog:
    """Step losses kept on the device and read in one transfer every ``FLUSH_EVERY`` steps and before each
    evaluation, so the GPU is not waited for after every step. The first non-finite loss ends the trial as
    diverged at the step before it, exactly as a per-step check would: later steps' curve points are dropped
    (the steps run in between are wasted work, never reported)."""
    FLUSH_EVERY = 64

    def __init__(self, curves: dict):
        self.curves, self.pending = curves, []

    def add(self, step: int, loss: torch.Tensor, parts: dict | None = None) -> None:
        """One step's loss, and the objective's parts (curves train_<part>, e.g. SD's train_ce and train_mse)."""
        self.pending.append((step, loss, parts or {}))

    def flush(self) -> int | None:
        """Record the pending losses; the last good step if one was not finite, else None."""
        if not self.pending:
            return None
        values = torch.stack([loss.float() for _, loss, _ in self.pending]).cpu().tolist()
        steps = [step for step, _, _ in self.pending]
        names = sorted({name for _, _, parts in self.pending for name in parts})
        pieces = {name: torch.stack([parts[name].float() for _, _, parts in self.pending]).cpu().tolist()
                  for name in names}
        self.pending = []
        for i, (step, value) in enumerate(zip(steps, values)):
            if not math.isfinite(value):
                last_good = step - 1
                for name, points in self.curves.items():
                    self.curves[name] = [(s, v) for s, v in points if s <= last_good]
                return last_good
            self.curves["train_loss"].append((step, value))
            for name, series in pieces.items():
                self.curves.setdefault(f"train_{name}", []).append((step, series[i]))
        return None


class SingleTaskRun:
    """The loop's model kind for one task: a sequence classifier (trainers.model) over one task's splits, E evenly
    spaced evaluations, the objective on its logits (a stored teacher's rows for KD and Self-KD, the run's own
    for SDA/SDV) and the test metric. ``trainers.multitask.train.MultitaskRun`` is the other kind."""
    outputs_at = "last"  # Xu et al.'s VOTE and AVG combine the final weights' logits (Eq. 2-3)
    block_distance = True  # the per-block L2 curves (Zhang et al. Fig. 6)
    lr_schedule = "linear"  # after the warm-up: linear decay to 0, or constant

    def __init__(self, cfg: TrainConfig, dev: torch.device, teacher_logits=None, teacher_digest: str | None = None):
        self.cfg, self.dev, self.task = cfg, dev, get_task(cfg.task)
        self.regression = self.task.is_regression
        if isinstance(teacher_logits, list):  # an ensemble teacher (``members: N``): one set of logits
            teacher_logits = ensemble_logits(teacher_logits, self.regression)
        base_state = intermediate_base_state(cfg) if cfg.intermediate else None
        self.splits, self.pad_id = encoded_splits(cfg.task, cfg.model, cfg.max_seq_len, cfg.train_examples,
                                                  cfg.eval_examples, cfg.full_train,
                                                  split_seed(cfg.task, cfg.data_seed), cfg.dev_halves)
        self.model = build_model(cfg.model, self.task.num_labels, cfg.init_seed, cfg.num_layers, cfg.reinit_layers,
                                 cfg.reinit_pooler, cfg.mixout, base_state, cfg.random_init).to(dev)
        check_teacher(teacher_logits, teacher_digest, self.splits["train"], self.task.num_labels, cfg)
        self.loss_of = loss_function(cfg, teacher_logits)
        self.stored_teacher = None if teacher_logits is None else torch.from_numpy(
            np.asarray(teacher_logits, np.float32))
        self.train_examples = len(self.splits["train"])
        self.order_rng = torch.Generator().manual_seed(cfg.data_seed)  # data order stream
        self.callbacks = step_callbacks(cfg)

    def total_steps(self) -> int:
        return total_steps(self.cfg, self.train_examples)

    def checkpoints(self, steps: int) -> set[int]:
        return set(eval_steps(steps, self.cfg.evaluations))

    def start_epoch(self, epoch: int) -> None:
        pass

    def epoch(self, epoch: int):
        return epoch_batches(self.splits["train"].lengths, self.cfg.batch_size, self.order_rng, self.cfg.batching)

    def step(self, forward, batch, scaler, micro_batch: int | None) -> tuple[torch.Tensor, dict]:
        inputs, labels = collate(self.splits["train"], batch, self.pad_id, self.regression, self.dev)
        teacher = None if self.stored_teacher is None else self.stored_teacher[batch].to(self.dev, non_blocking=True)
        for callback in self.callbacks:  # the run's own teacher (SDA/SDV), when no stored one was given
            if teacher is None:
                with autocast(self.cfg.precision, self.dev):
                    teacher = callback.teacher(self.model, inputs)
        parts = {}
        loss = forward_backward(forward, inputs, labels, self.cfg.precision, scaler, micro_batch, self.loss_of,
                                teacher, parts)
        return loss, parts

    def predict(self, model, split: str) -> np.ndarray:
        return predict(model, self.splits[split], self.pad_id, self.regression, self.cfg.precision)

    def score(self, split: str, preds) -> tuple[float, dict]:
        return score(self.task.metric, preds, self.splits[split].labels), {}

    def validate(self, forward, step: int, curves: dict) -> float:
        return self.score("validation", self.predict(forward, "validation"))[0]

    def outputs(self, preds: dict, model) -> dict:
        return {"val_logits": preds["validation"], "test_logits": preds["test"],
                "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}

    def train_outputs(self, model) -> tuple[np.ndarray, str]:
        return self.predict(model, "train"), labels_digest(self.splits["train"].labels)

    def extra_metrics(self, best_step: int) -> dict:
        return {}


def model_kind(cfg: TrainConfig) -> type[RunKind]:
    """The run class for a config's task: one encoder over several tasks (the CS224N minBERT reports) or one."""
    if get_task(cfg.task).parts:
        return MultitaskRun
    return SingleTaskRun


def train(cfg: TrainConfig, on_eval=None, keep_model: bool = False, micro_batch: int | None = None,
          teacher_logits=None, teacher_digest: str | None = None, train_logits: bool = False) -> dict:
    """Fine-tune once. Returns final metrics, curves and an outcome: ``finished`` or ``diverged`` (NaN/inf loss).
    ``micro_batch`` splits each batch for memory (gradient accumulation); it is not part of the trial's config.
    ``teacher_logits``: the teacher trial's logits over this training split (KD, Self-KD; a list: an ensemble's
    members), ``teacher_digest`` its split's labels_digest; ``train_logits``: return this trial's own
    (best-validation weights, eval mode) as ``result["train_logits"]`` with ``result["labels_digest"]``, for the
    trials it teaches.

    One loop for every model kind (``model_kind``): a kind implements trainers.run_kind.RunKind (its data, model,
    batches, loss and scores); the loop owns the optimizer, schedule, clipping, loss log, divergence,
    best-validation state and the final scoring.
    Methods plug in at four seams: the model (Re-init,
    Mixout, intermediate-task weights, the multitask heads), the optimizer's parameter groups (LLRD, weight decay,
    the head's lr), a hook before each optimizer step (pre-trained weight decay) and step callbacks
    (trainers.callbacks: SE's running mean, the SDA/SDV self-teacher, the mean teacher, SWA)."""
    dev = device()
    run = model_kind(cfg)(cfg, dev, teacher_logits, teacher_digest)
    model = run.model
    optimizer = build_optimizer(model, cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.adam_epsilon, llrd=cfg.llrd,
                                head_lr=cfg.head_lr)
    prior_wd = PretrainedWeightDecay(optimizer, model, cfg.pretrained_wd) if cfg.pretrained_wd else None
    scaler = torch.amp.GradScaler(dev.type, enabled=cfg.precision == "fp16")
    steps = run.total_steps()
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else int(cfg.warmup_ratio * steps)
    scheduler = (get_linear_schedule_with_warmup(optimizer, warmup, steps) if run.lr_schedule == "linear"
                 else get_constant_schedule_with_warmup(optimizer, warmup))
    checkpoints = run.checkpoints(steps)
    distance, distance_steps = (BlockDistance(model), measure_steps(steps)) if run.block_distance else (None, ())
    forward = prepare_execution(model, dev, cfg.precision)
    model.train()
    for callback in run.callbacks:
        callback.start(model)

    torch.manual_seed(cfg.data_seed)  # dropout (and Mixout) stream
    curves = {"train_loss": [], "lr": [], "val_metric": []}
    if distance:
        curves.update({f"l2_block_{i + 1}": [(0, 0.0)] for i in range(len(distance.params))})
    best_val, best_step, best_state, last_val = -math.inf, 0, None, math.nan
    outcome, step, epoch, train_seconds, eval_seconds = "finished", 0, 0, 0.0, 0.0
    losses = LossLog(curves)
    while step < steps and outcome == "finished":
        run.start_epoch(epoch)
        for batch in run.epoch(epoch):
            t0 = time.perf_counter()
            loss, parts = run.step(forward, batch, scaler, micro_batch)
            curves["lr"].append((step + 1, scheduler.get_last_lr()[0]))
            optimizer_step(model, optimizer, scaler, cfg.max_grad_norm, prior_wd.apply if prior_wd else None)
            scheduler.step()
            step += 1
            for callback in run.callbacks:
                callback.after_step(model)
            losses.add(step, loss, parts)
            # the last step is a checkpoint too (eval_steps), so every loss is read before the test passes
            last_good = losses.flush() if step in checkpoints or len(losses.pending) >= LossLog.FLUSH_EVERY else None
            train_seconds += time.perf_counter() - t0
            if last_good is not None:
                step, outcome = last_good, "diverged"
                break
            if step in distance_steps:
                for i, value in enumerate(distance.measure()):
                    curves[f"l2_block_{i + 1}"].append((step, value))
            if step in checkpoints:
                t0 = time.perf_counter()
                last_val = run.validate(forward, step, curves)
                curves["val_metric"].append((step, last_val))
                if last_val > best_val:
                    best_val, best_step = last_val, step
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                eval_seconds += time.perf_counter() - t0
                if on_eval:
                    on_eval(step, steps, last_val, curves)
            if step >= steps:
                break
        if outcome == "finished":
            for callback in run.callbacks:
                callback.after_epoch(model, epoch)
        epoch += 1

    t0 = time.perf_counter()
    finished = outcome == "finished"
    splits = ("validation", "test")
    wants_outputs = finished and cfg.ensemble_outputs

    def ensemble_outputs():  # every split's predictions (reused for the test score) and what ensembles read
        kept = {split: run.predict(forward, split) for split in splits}
        return kept, run.outputs(kept, model)
    last_is_kept = best_state is None or best_step == step  # the best-validation weights are the last ones
    best_elsewhere = wants_outputs and run.outputs_at == "best" and not last_is_kept
    extra = {}
    kept, outputs = ensemble_outputs() if wants_outputs and not best_elsewhere else ({}, None)
    test_last, parts_last = (math.nan, {}) if not finished else run.score(
        "test", kept["test"] if kept else run.predict(forward, "test"))
    if finished:  # weights the callbacks averaged (SE, the mean teacher, SWA), each scored on validation and test
        averaged = {name: vec for callback in run.callbacks for name, vec in callback.weights().items()}
        if averaged:
            other = copy.deepcopy(model)
            for name, vector in averaged.items():
                load_flat(other, vector)
                for split in splits:
                    short = "val" if split == "validation" else "test"
                    extra[f"{name}_{short}"], found = run.score(split, run.predict(other, split))
                    extra.update({f"{name}_{short}_{part}": value for part, value in found.items()})
    if best_state is None:
        test_best, parts_best = math.nan, {}
    elif best_step == step and finished:  # the last weights are the best
        test_best, parts_best = test_last, parts_last
    else:
        model.load_state_dict(best_state)
        if best_elsewhere:
            kept, outputs = ensemble_outputs()
        test_best, parts_best = run.score("test", kept["test"] if best_elsewhere else run.predict(forward, "test"))
    eval_seconds += time.perf_counter() - t0
    metrics = {
        "best_val": best_val if best_state is not None else math.nan,
        "test_at_best_val": test_best,
        "val_last": last_val,
        "test_last": test_last,
        "best_step": best_step,
        "steps": step,
        "total_steps": steps,
        "train_examples": run.train_examples,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        **extra,
        **run.extra_metrics(best_step),
    }
    for part, value in parts_best.items():  # a multitask kind's per-task scores (its validate logs val_<part>)
        metrics.update({f"test_{part}": value, f"test_last_{part}": parts_last.get(part, math.nan),
                        f"val_last_{part}": curves[f"val_{part}"][-1][1],
                        f"val_{part}": dict(curves[f"val_{part}"])[best_step]})
    result = {"outcome": outcome, "metrics": metrics, "curves": curves}
    if train_logits:  # the weights test_at_best_val was measured with
        result["train_logits"], result["labels_digest"] = run.train_outputs(forward)
    if outputs is not None:
        result["outputs"] = outputs
    if keep_model:
        result["model"] = model
    return result


def ensemble_logits(members: list, regression: bool) -> np.ndarray:
    """An ensemble teacher's logits: its members' mean output (regression), or the log of their mean class
    probabilities (a softmax of it gives that mean back; the analysis stage's ensembles average the same way)."""
    from scipy.special import log_softmax
    stacked = np.stack([np.asarray(m, np.float64) for m in members])
    if regression:
        return stacked.mean(0).astype(np.float32)
    return np.log(np.exp(log_softmax(stacked, axis=-1)).mean(0)).astype(np.float32)


def check_teacher(teacher_logits, digest: str | None, train_split, num_labels: int, cfg: TrainConfig) -> None:
    """The teacher's logits must be row for row this trial's training examples (same task, sample and split)."""
    if teacher_logits is None:
        return
    want = (len(train_split), num_labels)
    if tuple(np.shape(teacher_logits)) != want or digest not in (None, labels_digest(train_split.labels)):
        raise ValueError(f"teacher trial {cfg.teacher}'s train logits ({tuple(np.shape(teacher_logits))}) are not "
                         f"for this trial's training split ({want[0]} examples, {want[1]} classes): the teacher "
                         f"trained on other examples")


def intermediate_base_state(cfg: TrainConfig) -> dict:
    """Transfer via an intermediate task (Phang et al. 2018; Sec. 7.1): fine-tune once on the whole
    intermediate training set with the target's hyperparameters and seed 0, cache its encoder weights on disk
    (shared by every target task and seed), and start the target from them."""
    inter = TrainConfig(task=cfg.intermediate, model=cfg.model, optimizer=cfg.optimizer, lr=cfg.lr,
                        batch_size=cfg.batch_size, epochs=cfg.epochs, warmup_ratio=cfg.warmup_ratio,
                        max_grad_norm=cfg.max_grad_norm, adam_epsilon=cfg.adam_epsilon, max_seq_len=cfg.max_seq_len,
                        num_layers=cfg.num_layers, precision=cfg.precision, full_train=True, batching=cfg.batching,
                        evaluations=cfg.evaluations, train_examples=cfg.train_examples,
                        eval_examples=cfg.eval_examples)
    path = cache_dir() / f"intermediate-{inter.fingerprint()}.pt"
    if not path.is_file():
        model = train(inter, keep_model=True)["model"]
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save({k: v.cpu() for k, v in model.base_model.state_dict().items()}, partial)
        partial.replace(path)  # atomic: concurrent trials never read half a file
    return torch.load(path, map_location="cpu", weights_only=True)
