"""The multitask model kind of the shared loop (trainers.loop.train), for the CS224N minBERT reports: one encoder,
three heads (trainers.multitask.model). The loop is the single-task one (optimizer and its parameter groups,
warm-up then linear decay, clipping, the loss log that catches divergence, the best-validation state, the step
callbacks); this kind adds what a multitask run needs: a batch schedule over tasks (samplers), per-task weights,
and the methods of the two reports (the mean teacher and SWA as step callbacks, LP-FT). A task batch's main loss is
the objective's multitask form (trainers.objectives: CE, or KD from an ensemble's predictions); SimCSE, MNR, SMART
and the consistency are the extra terms the arm's settings switch on (trainers.multitask.terms).

Evaluation is once per epoch on every task's validation split; the dev score is the mean of SST accuracy,
paraphrase accuracy and STS Pearson r (``score: plain``, Qin & Tran) or (r + 1) / 2 (``normalised``, Venkateswaran).
The kept checkpoint is the epoch with the best mean over the tasks the run trains (a single-task run's other
heads are untrained: Qin & Tran Table 1's off-task columns). Test is scored at that epoch and at the last.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from trainers import objectives
from trainers.callbacks import EpochAverage, MeanTeacher
from trainers.execution import EVAL_BATCH, autocast, cpu_bf16_attention, labels_digest
from trainers.metrics import accuracy, pearson
from trainers.multitask.data import PART_TASKS, batch_inputs, pad_id, part_splits
from trainers.multitask.losses import rampup_weight
from trainers.multitask.model import build_multitask_model, sts_score
from trainers.multitask.samplers import epoch_rounds, examples_per_epoch, steps_per_epoch
from trainers.multitask.settings import PARTS, resolve
from trainers.multitask.terms import Forward, active_terms
from trainers.settings import only_fields
from trainers.tasks import get_task

PAIR = {"sst": 1, "para": 2, "sts": 2}  # sentences encoded per example (pairs are Siamese)
TEACHER_PASS = 0.35  # the mean teacher's forward, in training passes (study notes part D: +35%)
SMART_PASSES = 2.5  # SMART's extra forward-backward (notes part D: x 2.5)
COST_BATCH = 16  # a multitask profile's seconds_per_step is the cost of 16 sentence passes, whatever the batch
# A sentence pass's cost by part, against a pair task's sentence: the padded length of a random batch of 16 at
# length 48 (CS224N files: SST 45 tokens, Quora and STS 31). Measured: single-task SST trials ran 1.3-1.6x a flat
# per-sentence plan.
PART_COST = {"sst": 1.45, "para": 1.0, "sts": 1.0}


def add(sums: dict, name: str, value: torch.Tensor) -> None:
    """Accumulate a loss term for its per-epoch mean (kept on the device: read once per epoch)."""
    total, count = sums.get(name, (0, 0))
    sums[name] = (total + value.detach(), count + 1)


def sizes_of(cfg, args: dict) -> dict[str, int]:
    """Training examples per trained part, from the task registry's sizes (no file read): the plan's cost."""
    caps = dict(cfg.part_examples)
    out = {}
    for part in args["train_tasks"].split("+"):
        full = get_task(PART_TASKS[part]).sizes[0]
        cap = caps.get(part, cfg.train_examples)
        out[part] = min(full, cap or full)
    return out


def pool_sizes(cfg) -> dict[str, int]:
    """A config's training examples per trained task pool (sizes_of at its resolved settings)."""
    return sizes_of(cfg, resolve(dict(cfg.multitask_args)))


def epochs_of(cfg, args: dict) -> int:
    """LP epochs, then the fine-tuning epochs, then SWA's extra epochs."""
    return args["lp_epochs"] + int(round(cfg.epochs)) + args["swa_epochs"]


def schedule_steps(cfg, sizes: dict[str, int], args: dict) -> tuple[int, int]:
    """(steps per epoch, total steps)."""
    per_epoch = steps_per_epoch(args["sampler"], sizes, cfg.batch_size, args["step"], args["balanced_examples"])
    return per_epoch, per_epoch * epochs_of(cfg, args)


def plan_seconds(cfg, cost: dict) -> float:
    """Estimated seconds of one trial from the task sizes: sentence passes in training (a pair is two; SimCSE adds
    one over STS; an SST sentence counts PART_COST; the mean teacher and SMART as measured multiples) at
    ``seconds_per_step`` per COST_BATCH passes, plus evaluation passes (every epoch's validation, the test
    passes, the teacher's and SWA's, the cosine head's fit)."""
    args = resolve(dict(cfg.multitask_args))
    sizes = sizes_of(cfg, args)
    fed = examples_per_epoch(args["sampler"], sizes, cfg.batch_size, args["balanced_examples"])
    passes = sum(n * (PAIR[p] + (2 if p == "sts" and args["simcse_weight"] else 0)) * PART_COST[p]
                 for p, n in fed.items())
    passes *= (1 + (TEACHER_PASS if args["consistency"] != "none" else 0)) * (SMART_PASSES if args["smart_weight"]
                                                                              else 1)
    cap = cfg.eval_examples
    val, test = ([PAIR[p] * min(get_task(name).sizes[k], cap or get_task(name).sizes[k])
                  for p, name in PART_TASKS.items()] for k in (1, 2))
    extra = (args["consistency"] != "none") + bool(args["swa_epochs"])
    fitted = PAIR["para"] * sizes["para"] if args["para_head"] == "cosine" and "para" in sizes else 0
    evaluated = (sum(val) * (epochs_of(cfg, args) + extra + cfg.ensemble_outputs) + sum(test) * (2 + extra)
                 + fitted)
    return (passes * epochs_of(cfg, args) * cost["seconds_per_step"] / COST_BATCH
            + evaluated * cost["seconds_per_eval_example"])


@torch.no_grad()
def eval_outputs(model, split, pad: int, precision: str, fn) -> np.ndarray:
    """``fn(ids, mask)`` over a split in eval mode, batched by length, returned in the split's order."""
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    order = np.argsort(split.first.lengths, kind="stable")
    out = []
    for start in range(0, len(order), EVAL_BATCH):
        idx = order[start:start + EVAL_BATCH]
        ids, mask = batch_inputs(split, idx, pad, dev)
        with autocast(precision, dev):
            out.append(fn(ids, mask).float().cpu())
    model.train(was_training)
    result = np.zeros((len(order),) + tuple(out[0].shape[1:]), dtype=np.float32)
    result[order] = torch.cat(out).numpy()
    return result


def predictions(model, split, part: str, pad: int, precision: str) -> np.ndarray:
    """Eval-mode predictions in the split's order: SST class probabilities, the paraphrase probability, the STS
    score."""
    def fn(ids, mask):
        raw = model(part, ids, mask).float()
        return raw.softmax(-1) if part == "sst" else raw.sigmoid() if part == "para" else sts_score(raw)
    return eval_outputs(model, split, pad, precision, fn)


def fit_cosine_head(model, split, pad: int, precision: str) -> float:
    """The cosine paraphrase head's threshold, fitted on the training pairs' cosines under the initial encoder;
    returns that split's training accuracy."""
    def cosines(ids, mask):
        return F.cosine_similarity(*model.embed(ids, mask).float().chunk(2), dim=-1)
    return model.para.fit(eval_outputs(model, split, pad, precision, cosines), split.labels)


def part_metric(part: str, preds: np.ndarray, labels: np.ndarray) -> float:
    if part == "sst":
        return accuracy(preds.argmax(-1), labels)
    if part == "para":
        return accuracy((preds >= 0.5).astype(int), labels.astype(int))
    return pearson(preds, labels)


def dev_score(metrics: dict[str, float], parts, kind_of_score: str) -> float:
    """The reports' average: the STS term is r (plain) or (r + 1) / 2 (normalised)."""
    terms = [(metrics[p] + 1) / 2 if p == "sts" and kind_of_score == "normalised" else metrics[p] for p in parts]
    return float(np.mean(terms))


def train_digest(data: dict) -> str:
    """Identifies the training pools, task after task, by their labels: a teacher's predictions must be for them."""
    return labels_digest(np.concatenate([data[p]["train"].labels for p in PARTS]))


def teacher_targets(teacher_logits, digest: str | None, data: dict, cfg) -> dict[str, torch.Tensor]:
    """The distillation targets per task: one teacher's train-set predictions, or the mean of an ensemble's
    (probability space: the ensembles of the analysis stage average the same way)."""
    members = teacher_logits if isinstance(teacher_logits, list) else [teacher_logits]
    want = {p: len(data[p]["train"]) for p in PARTS}
    same_pools = digest in (None, train_digest(data))  # the members share one digest (pipelines.trial checks)
    for member in members:
        if not same_pools or not isinstance(member, dict) or {p: len(member.get(p, ())) for p in PARTS} != want:
            raise ValueError(f"teacher {cfg.teacher}'s train-set predictions are not for this trial's training "
                             f"pools ({', '.join(f'{p} {n}' for p, n in want.items())}): the teacher trained on "
                             f"other examples")
    return {p: torch.from_numpy(np.mean([np.asarray(m[p], np.float32) for m in members], axis=0)) for p in PARTS}


# TrainConfig fields that only single-task settings set (trainers.settings): a multitask run has no use for them,
# and a value other than the default is an error, not silently ignored (pipelines.validation rejects the settings
# first).
# ``batching`` is a profile's, shared by every paper's trials: a multitask run's batches are its sampler's.
SINGLE_TASK_ONLY = tuple(only_fields(objectives.SINGLE_TASK))


class MultitaskRun:
    """The shared loop's multitask kind (trainers.loop.train): the data of every part, the model, an epoch's
    batches from the sampler (a step is a task batch, or a round's summed losses), a step's losses and their
    per-epoch means, validation once per epoch on every task. ``objective: kd`` distils from ``teacher_logits``: a
    teacher's (or a list of an ensemble's members') per-task train-set predictions; the run's own are
    ``train_outputs``. The result has the single-task kind's metrics with per-task ones beside the dev score."""
    outputs_at = "best"  # the analysis stage's ensembles combine each member's best-validation epoch
    block_distance = False

    def __init__(self, cfg, dev, teacher_logits=None, teacher_digest=None):
        # the objective's multitask form gives each task batch's main loss (trainers.objectives)
        self.objective = objectives.get_objective(cfg.objective)
        self.objective_args = objectives.resolve(cfg.objective, dict(cfg.objective_args), kind=objectives.MULTITASK)
        if self.objective.needs_teacher != (teacher_logits is not None):
            raise ValueError(f"objective {cfg.objective!r} " + ("needs its teacher's train-set predictions, got none"
                                                                if self.objective.needs_teacher
                                                                else "reads no teacher's predictions, got some"))
        unused = [f"{name}={getattr(cfg, name)!r}" for name in SINGLE_TASK_ONLY
                  if getattr(cfg, name) != type(cfg).__dataclass_fields__[name].default]
        if unused:
            raise ValueError(f"a multitask task ({cfg.task}) does not use {', '.join(unused)}: single-task settings")
        self.cfg, self.dev = cfg, dev
        self.args = args = resolve(dict(cfg.multitask_args))
        self.trained = args["train_tasks"].split("+")
        caps = dict(cfg.part_examples)
        self.data = {p: part_splits(p, cfg.model, cfg.max_seq_len, caps.get(p, cfg.train_examples),
                                    cfg.eval_examples) for p in PARTS}
        self.pad = pad_id(cfg.model)
        self.sizes = {p: len(self.data[p]["train"]) for p in self.trained}
        self.train_examples = sum(self.sizes.values())
        self.targets = None if teacher_logits is None else teacher_targets(teacher_logits, teacher_digest,
                                                                           self.data, cfg)
        self.model = model = build_multitask_model(cfg.model, cfg.init_seed, cfg.num_layers, args["para_head"],
                                                   args["sts_head"], args["head_dropout"], args["pooling"]).to(dev)
        cpu_bf16_attention(model, cfg.precision, dev)  # as the single-task loop: bf16 on a CPU runs eager attention
        if args["para_head"] == "cosine" and "para" in self.trained:  # an untrained head keeps its initial threshold
            fit_cosine_head(model, self.data["para"]["train"], self.pad, cfg.precision)
        if args["head_bias"] == "prior":  # trained heads only: an untrained one keeps its zero bias
            model.prior_biases({p: self.data[p]["train"].labels for p in self.trained})
        self.per_epoch, self.steps = schedule_steps(cfg, self.sizes, args)
        self.lr_schedule = args["lr_schedule"]  # constant: Qin & Tran's "flat" rates
        self.epochs = epochs_of(cfg, args)
        self.weights = {"sst": args["sst_weight"], "para": args["para_weight"], "sts": args["sts_weight"]}
        self.order_rng = np.random.default_rng(cfg.data_seed)  # batch schedule stream
        self.teacher = MeanTeacher(args["ema_decay"]) if args["consistency"] != "none" else None
        self.terms = active_terms(args)  # SimCSE, MNR, SMART, consistency: those the arm's settings switch on
        self.callbacks = [c for c in (self.teacher, EpochAverage(self.epochs - args["swa_epochs"])
                                      if args["swa_epochs"] else None) if c is not None]
        self.sums = {}  # loss term -> (sum, batches) over the epoch so far

    def total_steps(self) -> int:
        return self.steps

    def checkpoints(self, steps: int) -> set[int]:
        return {self.per_epoch * (k + 1) for k in range(self.epochs)}  # the end of every epoch

    def start_epoch(self, epoch: int) -> None:
        frozen = epoch < self.args["lp_epochs"]  # LP-FT: the heads alone first (Kumar et al. 2022)
        for p in self.model.bert.parameters():
            p.requires_grad_(not frozen)
        self.sums = {}

    def epoch(self, epoch: int):
        rounds = epoch_rounds(self.args["sampler"], self.sizes, self.cfg.batch_size, self.order_rng,
                              self.args["balanced_examples"])
        return rounds if self.args["step"] == "round" else [[b] for round_ in rounds for b in round_]

    def step(self, forward, group, scaler, micro_batch) -> tuple[torch.Tensor, dict]:
        """One update's losses over the group's batches (each backward on its own: the gradients sum)."""
        if micro_batch:  # out of GPU memory (pipelines.trial retries with micro-batches)
            raise ValueError("a multitask step is not split into micro-batches (SimCSE's and MNR's in-batch "
                             "negatives need the whole batch): lower batch_size or use a larger GPU")
        total = None
        for batch in group:
            loss = self.batch_loss(batch)
            if loss.requires_grad:  # LP: a cosine STS head has no weights of its own to train
                scaler.scale(loss).backward()
            total = loss.detach() if total is None else total + loss.detach()
        return total, {}

    def consistency_weight(self) -> float:
        """The ramp-up's weight at the current step, by fractional epochs (CuriousAI)."""
        steps = self.teacher.steps
        return rampup_weight(steps / self.per_epoch, self.args["consistency_weight"], self.args["consistency_rampup"])

    def batch_loss(self, batch) -> torch.Tensor:
        """A task batch's loss: the objective's main loss at the task's weight, then each active term at its own
        weight; every part is added to the epoch's curves."""
        part, rows = batch.task, np.asarray(batch.rows)
        split = self.data[part]["train"]
        ids, mask = batch_inputs(split, batch.rows, self.pad, self.dev)
        y = torch.from_numpy(split.labels[rows]).to(self.dev)
        targets = None if self.targets is None else self.targets[part][rows].to(self.dev)  # a KD teacher's
        with autocast(self.cfg.precision, self.dev):
            u = self.model.embed(ids, mask)
            out = self.model.head(part, u)
            main, logged = self.objective.multitask.loss(part, out, y, self.objective_args, targets)
            loss = self.weights[part] * main
            forward = Forward(part, ids, mask, y, u, out)
            for term in self.terms:
                if part in term.parts:
                    value = term.loss(self, forward)
                    loss = loss + term.weight(self) * value
                    logged[term.name] = value
        for name, value in logged.items():
            add(self.sums, name, value)
        return loss

    def validate(self, forward, step: int, curves: dict) -> float:
        """At an epoch's end: the epoch's mean of each task's loss and each added term, the consistency weight,
        then every task's validation metric and the dev score over the trained tasks."""
        for name, (value, count) in self.sums.items():
            curves.setdefault(f"train_{name}", []).append((step, float(value) / count))
        if self.teacher is not None:
            curves.setdefault("consistency_weight", []).append((step, self.consistency_weight()))
        score, found = self.score("validation", self.predict(forward, "validation"))
        for p in PARTS:
            curves.setdefault(f"val_{p}", []).append((step, found[p]))
        return score

    def predict(self, model, split: str) -> dict[str, np.ndarray]:
        return {p: predictions(model, self.data[p][split], p, self.pad, self.cfg.precision) for p in PARTS}

    def score(self, split: str, preds: dict) -> tuple[float, dict]:
        found = {p: part_metric(p, preds[p], self.data[p][split].labels) for p in PARTS}
        return dev_score(found, self.trained, self.args["score"]), found

    def outputs(self, preds: dict, model) -> dict:
        """What the analysis stage's ensembles combine: every task's validation and test predictions."""
        return {f"{'val' if split == 'validation' else 'test'}_{p}": found[p] for split, found in preds.items()
                for p in PARTS}

    def train_outputs(self, model) -> tuple[dict, str]:
        """What the runs it teaches read: its predictions over every task's training pool."""
        return self.predict(model, "train"), train_digest(self.data)

    def extra_metrics(self, best_step: int) -> dict:
        return {"best_epoch": best_step // self.per_epoch}
