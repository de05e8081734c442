"""The multitask trainer (one encoder, three heads: trainers.multitask.model), the shared loop's sibling for the
CS224N minBERT reports. It reuses the loop's pieces (optimizer and its parameter groups, warm-up then linear
decay, clipping, the loss log that catches divergence, the step callbacks' averaging) and adds what a multitask
run needs: a batch schedule over tasks (samplers), per-task losses and weights, and the methods of the two
reports (mean teacher, SimCSE, MNR, SMART, SWA, LP-FT, KD from an ensemble).

Evaluation is once per epoch on every task's validation split; the dev score is the mean of SST accuracy,
paraphrase accuracy and STS Pearson r (``score: plain``, Qin & Tran) or (r + 1) / 2 (``normalised``, Venkateswaran).
The kept checkpoint is the epoch with the best mean over the tasks the run trains (a single-task run's other
heads are untrained: Qin & Tran Table 1's off-task columns). Test is scored at that epoch and at the last.
"""
from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from transformers import get_constant_schedule_with_warmup, get_linear_schedule_with_warmup

from trainers.averaging import StepWindow, flat, load_flat
from trainers.loop import EVAL_BATCH, LossLog, autocast, device, labels_digest, optimizer_step
from trainers.metrics import accuracy, pearson
from trainers.multitask.data import PART_TASKS, batch_inputs, pad_id, part_splits
from trainers.multitask.losses import (consistency, distill_loss, ema_update, mnr_loss, rampup_weight, simcse_loss,
                                      smart_loss)
from trainers.multitask.model import build_multitask_model, sts_score
from trainers.multitask.samplers import epoch_rounds, examples_per_epoch, steps_per_epoch
from trainers.multitask.settings import PARTS, resolve
from trainers.optim import build_optimizer

PAIR = {"sst": 1, "para": 2, "sts": 2}  # sentences encoded per example (pairs are Siamese)
TEACHER_PASS = 0.35  # the mean teacher's forward, in training passes (study notes part D: +35%)
SMART_PASSES = 2.5  # SMART's extra forward-backward (notes part D: x 2.5)
COST_BATCH = 16  # a multitask profile's seconds_per_step is the cost of 16 sentence passes, whatever the batch
# A sentence pass's cost by part, against a pair task's sentence: the padded length of a random batch of 16 at
# length 48 (CS224N files: SST 45 tokens, Quora and STS 31). Measured: single-task SST trials ran 1.3-1.6x a flat
# per-sentence plan.
PART_COST = {"sst": 1.45, "para": 1.0, "sts": 1.0}


def kind(part: str, args: dict) -> str:
    """How a part's outputs are compared (losses.consistency): class logits, one binary logit, or a score."""
    if part == "sst" or (part == "sts" and args["sts_head"] == "classes"):
        return "classes"
    return "binary" if part == "para" else "regression"


def task_loss(part: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if part == "sst":
        return F.cross_entropy(out, y.long())
    if part == "para":
        return F.binary_cross_entropy_with_logits(out, y)
    if out.ndim == 2:  # STS as 6 classes of the rounded score
        return F.cross_entropy(out, y.round().long())
    return F.mse_loss(out, y)


def mnr_weights(y: torch.Tensor) -> torch.Tensor:
    """Venkateswaran Sec. 3: an STS pair's weight in the MNR loss, e^l / sum_{j=0..5} e^j (similar pairs count)."""
    return y.exp() / sum(math.exp(j) for j in range(6))


def add(sums: dict, name: str, value: torch.Tensor) -> None:
    """Accumulate a loss term for its per-epoch mean (kept on the device: read once per epoch)."""
    total, count = sums.get(name, (0, 0))
    sums[name] = (total + value.detach(), count + 1)


def sizes_of(cfg, args: dict) -> dict[str, int]:
    """Training examples per trained part, from the task registry's sizes (no file read): the plan's cost."""
    from trainers.tasks import get_task
    caps = dict(cfg.part_examples)
    out = {}
    for part in args["train_tasks"].split("+"):
        full = get_task(PART_TASKS[part]).sizes[0]
        cap = caps.get(part, cfg.train_examples)
        out[part] = min(full, cap or full)
    return out


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
    from trainers.tasks import get_task
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


def evaluate_all(model, data: dict, split: str, pad: int, precision: str) -> tuple[dict, dict]:
    preds = {p: predictions(model, data[p][split], p, pad, precision) for p in PARTS}
    return preds, {p: part_metric(p, preds[p], data[p][split].labels) for p in PARTS}


def train_digest(data: dict) -> str:
    """Identifies the training pools, task after task, by their labels: a teacher's predictions must be for them."""
    return labels_digest(np.concatenate([data[p]["train"].labels for p in PARTS]))


def teacher_targets(teacher_logits, digest: str | None, data: dict, cfg) -> dict[str, torch.Tensor]:
    """The distillation targets per task: one teacher's train-set predictions, or the mean of an ensemble's
    (probability space: the ensembles of the analysis stage average the same way)."""
    members = teacher_logits if isinstance(teacher_logits, list) else [teacher_logits]
    if dict(cfg.objective_args).get("temperature", 1.0) != 1.0:
        raise ValueError("multitask KD reads the teacher's probabilities: temperature must be 1")
    want = {p: len(data[p]["train"]) for p in PARTS}
    same_pools = digest in (None, train_digest(data))  # the members share one digest (pipelines.trial checks)
    for member in members:
        if not same_pools or not isinstance(member, dict) or {p: len(member.get(p, ())) for p in PARTS} != want:
            raise ValueError(f"teacher {cfg.teacher}'s train-set predictions are not for this trial's training "
                             f"pools ({', '.join(f'{p} {n}' for p, n in want.items())}): the teacher trained on "
                             f"other examples")
    return {p: torch.from_numpy(np.mean([np.asarray(m[p], np.float32) for m in members], axis=0)) for p in PARTS}


def train(cfg, on_eval=None, keep_model: bool = False, micro_batch: int | None = None, teacher_logits=None,
          teacher_digest=None, train_logits: bool = False) -> dict:
    """Fine-tune the multitask model once; the result has the shared loop's shape (outcome, metrics, curves,
    outputs) with per-task metrics beside the dev score. ``objective: kd`` distils from ``teacher_logits``: a
    teacher's (or a list of an ensemble's members') per-task train-set predictions; ``train_logits`` returns this
    run's own (best-validation weights, eval mode) for the runs it teaches."""
    if cfg.objective not in ("ce", "kd"):
        raise ValueError(f"the multitask trainer's objective is ce or kd (from an ensemble's predictions), "
                         f"got {cfg.objective!r}")
    if (cfg.objective == "kd") != (teacher_logits is not None):
        raise ValueError("objective kd needs its teacher's train-set predictions, and only kd reads them")
    args = resolve(dict(cfg.multitask_args))
    trained = args["train_tasks"].split("+")
    dev = device()
    caps = dict(cfg.part_examples)
    data = {p: part_splits(p, cfg.model, cfg.max_seq_len, caps.get(p, cfg.train_examples), cfg.eval_examples)
            for p in PARTS}
    pad = pad_id(cfg.model)
    sizes = {p: len(data[p]["train"]) for p in trained}
    targets = None if teacher_logits is None else teacher_targets(teacher_logits, teacher_digest, data, cfg)
    alpha = dict(cfg.objective_args).get("alpha", 0.0)
    model = build_multitask_model(cfg.model, cfg.init_seed, cfg.num_layers, args["para_head"], args["sts_head"],
                                  args["head_dropout"], args["pooling"]).to(dev)
    if args["para_head"] == "cosine" and "para" in trained:  # an untrained head stays at its initial threshold
        fit_cosine_head(model, data["para"]["train"], pad, cfg.precision)
    if args["head_bias"] == "prior":  # trained heads only: an untrained one keeps its zero bias
        model.prior_biases({p: data[p]["train"].labels for p in trained})
    optimizer = build_optimizer(model, cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.adam_epsilon, head_lr=cfg.head_lr)
    scaler = torch.amp.GradScaler(dev.type, enabled=cfg.precision == "fp16")
    per_epoch, steps = schedule_steps(cfg, sizes, args)
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else int(cfg.warmup_ratio * steps)
    scheduler = (get_linear_schedule_with_warmup(optimizer, warmup, steps) if args["lr_schedule"] == "linear"
                 else get_constant_schedule_with_warmup(optimizer, warmup))
    weights = {"sst": args["sst_weight"], "para": args["para_weight"], "sts": args["sts_weight"]}
    teacher = None
    if args["consistency"] != "none":  # the mean teacher: an EMA of the student, in train mode (CuriousAI)
        teacher = copy.deepcopy(model)
        for p in teacher.parameters():
            p.requires_grad_(False)
    swa = StepWindow(None) if args["swa_epochs"] else None

    torch.manual_seed(cfg.data_seed)  # dropout stream
    order_rng = np.random.default_rng(cfg.data_seed)  # batch schedule stream
    model.train()
    curves = {"train_loss": [], "lr": [], "val_metric": []}
    losses = LossLog(curves)
    best = {"score": -math.inf, "epoch": 0, "state": None}
    outcome, step, train_seconds, eval_seconds = "finished", 0, 0.0, 0.0
    val_last, epochs = {}, epochs_of(cfg, args)

    def batch_loss(batch, sums: dict) -> torch.Tensor:
        part = batch.task
        split = data[part]["train"]
        ids, mask = batch_inputs(split, batch.rows, pad, dev)
        y = torch.from_numpy(split.labels[np.asarray(batch.rows)]).to(dev)
        with autocast(cfg.precision, dev):
            u = model.embed(ids, mask)
            out = model.head(part, u)
            main = task_loss(part, out.float(), y)
            add(sums, part, main)
            if targets is not None:  # (1 - alpha) task + alpha distill: the author's code, 0.6 and 0.4
                extra = distill_loss(part, out, targets[part][np.asarray(batch.rows)].to(dev))
                main = (1 - alpha) * main + alpha * extra
                add(sums, "distill", extra)
            loss = weights[part] * main
            if part == "sts" and args["simcse_weight"]:  # a second dropout pass over the same sentences
                extra = simcse_loss(u, model.embed(ids, mask), args["simcse_temperature"])
                loss = loss + args["simcse_weight"] * extra
                add(sums, "simcse", extra)
            if part == "sts" and args["mnr_weight"]:
                first, second = u.chunk(2)
                extra = mnr_loss(first, second, 20.0, mnr_weights(y))
                loss = loss + args["mnr_weight"] * extra
                add(sums, "mnr", extra)
            if args["smart_weight"]:
                embeds = model.bert.embeddings.word_embeddings(ids)
                extra = smart_loss(lambda e: model.head(part, model.embed(None, mask, inputs_embeds=e)).float(),
                                   embeds, out.float(), kind(part, args))
                loss = loss + args["smart_weight"] * extra
                add(sums, "smart", extra)
            if teacher is not None:
                with torch.no_grad():
                    target = teacher(part, ids, mask).float()
                w = rampup_weight(step / per_epoch, args["consistency_weight"], args["consistency_rampup"])
                extra = consistency(out.float(), target, args["consistency"] if part != "sts" or
                                    args["sts_head"] == "classes" else "mse", kind(part, args))
                loss = loss + w * extra
                add(sums, "consistency", extra)
        return loss

    for epoch in range(epochs):
        frozen = epoch < args["lp_epochs"]  # LP-FT: the heads alone first (Kumar et al. 2022)
        for p in model.bert.parameters():
            p.requires_grad_(not frozen)
        sums = {}  # name -> [sum, batches]
        t0 = time.perf_counter()
        for round_ in epoch_rounds(args["sampler"], sizes, cfg.batch_size, order_rng, args["balanced_examples"]):
            for group in ([round_] if args["step"] == "round" else [[b] for b in round_]):
                total = None
                for batch in group:  # one update over the group's summed losses
                    loss = batch_loss(batch, sums)
                    if loss.requires_grad:  # LP: a cosine STS head has no weights of its own to train
                        scaler.scale(loss).backward()
                    total = loss.detach() if total is None else total + loss.detach()
                curves["lr"].append((step + 1, scheduler.get_last_lr()[0]))
                optimizer_step(model, optimizer, scaler, cfg.max_grad_norm)
                scheduler.step()
                step += 1
                if teacher is not None:
                    ema_update(teacher, model, args["ema_decay"], step)
                losses.add(step, total)
                if len(losses.pending) >= LossLog.FLUSH_EVERY:
                    bad = losses.flush()
                    if bad is not None:
                        step, outcome = bad, "diverged"
                        break
            if outcome != "finished":
                break
        bad = losses.flush() if outcome == "finished" else None
        if bad is not None:
            step, outcome = bad, "diverged"
        train_seconds += time.perf_counter() - t0
        if outcome != "finished":
            break
        for name, (value, count) in sums.items():  # per-epoch means of each task's loss and each added term
            curves.setdefault(f"train_{name}", []).append((step, float(value) / count))
        if teacher is not None:
            curves.setdefault("consistency_weight", []).append(
                (step, rampup_weight(step / per_epoch, args["consistency_weight"], args["consistency_rampup"])))
        if swa is not None and epoch >= epochs - args["swa_epochs"]:
            swa.push(flat(model))
        t0 = time.perf_counter()
        _, val_last = evaluate_all(model, data, "validation", pad, cfg.precision)
        for p in PARTS:
            curves.setdefault(f"val_{p}", []).append((step, val_last[p]))
        score = dev_score(val_last, trained, args["score"])
        curves["val_metric"].append((step, score))
        if score > best["score"]:
            best = {"score": score, "epoch": epoch + 1, "step": step,
                    "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
        eval_seconds += time.perf_counter() - t0
        if on_eval:
            on_eval(step, steps, score, curves)

    t0 = time.perf_counter()
    metrics = {"steps": step, "total_steps": steps, "train_examples": sum(sizes.values()),
               "train_seconds": train_seconds, "eval_seconds": eval_seconds}
    result = {"outcome": outcome, "metrics": metrics, "curves": curves}
    if outcome != "finished":
        metrics.update(best_val=math.nan, test_at_best_val=math.nan, val_last=math.nan, test_last=math.nan)
        return result
    _, test_last = evaluate_all(model, data, "test", pad, cfg.precision)
    extra_models = {}
    if teacher is not None:
        extra_models["teacher"] = teacher
    if swa is not None:
        extra_models["swa"] = load_flat(copy.deepcopy(model), swa.mean())
    for name, other in extra_models.items():  # the mean teacher and the SWA average, scored like the student
        for split in ("validation", "test"):
            _, found = evaluate_all(other, data, split, pad, cfg.precision)
            short = "val" if split == "validation" else "test"
            metrics[f"{name}_{short}"] = dev_score(found, trained, args["score"])
            metrics.update({f"{name}_{short}_{p}": found[p] for p in PARTS})
    if best["epoch"] != epochs:
        model.load_state_dict(best["state"])
    val_preds, val_best = evaluate_all(model, data, "validation", pad, cfg.precision) if cfg.ensemble_outputs \
        else (None, None)
    test_preds, test_best = evaluate_all(model, data, "test", pad, cfg.precision) if best["epoch"] != epochs \
        or cfg.ensemble_outputs else (None, test_last)
    eval_seconds += time.perf_counter() - t0
    metrics.update(best_val=best["score"], val_last=dev_score(val_last, trained, args["score"]),
                   test_at_best_val=dev_score(test_best, trained, args["score"]),
                   test_last=dev_score(test_last, trained, args["score"]), best_step=best["step"],
                   best_epoch=best["epoch"], eval_seconds=eval_seconds)
    for p in PARTS:
        metrics[f"val_last_{p}"] = val_last[p]
        metrics[f"test_{p}"] = test_best[p]
        metrics[f"test_last_{p}"] = test_last[p]
        metrics[f"val_{p}"] = dict(curves[f"val_{p}"])[best["step"]]
    if train_logits:  # what the runs it teaches read: its predictions over every task's training pool
        result["train_logits"] = {p: predictions(model, data[p]["train"], p, pad, cfg.precision) for p in PARTS}
        result["labels_digest"] = train_digest(data)
    if cfg.ensemble_outputs:  # what the analysis stage's ensembles combine (best-validation epoch's predictions)
        result["outputs"] = {f"{split}_{p}": preds[p] for split, preds in (("val", val_preds), ("test", test_preds))
                             for p in PARTS}
    if keep_model:
        result["model"] = model
    return result
