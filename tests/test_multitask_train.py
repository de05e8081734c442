"""The multitask trainer on a toy scale (1 block, a few examples per task): determinism per seed, the step count
of each update scheme, the mean teacher and SWA as extra evaluated weights, LP-FT's frozen encoder, every objective
that serves it and every extra loss term on a task batch, and the checks that reject a bad setting."""
import dataclasses

import numpy as np
import pytest
import torch

from trainers.config import TrainConfig
from trainers.loop import train
from trainers.multitask.samplers import Batch, steps_per_epoch
from trainers.multitask.settings import PARTS, SETTINGS, resolve
from trainers.multitask.terms import TERMS, active_terms
from trainers.multitask.train import MultitaskRun
from trainers.objectives import MULTITASK, OBJECTIVES, serving, settings_for

TOY = TrainConfig(task="minBERT", model="paraphrase-MiniLM-L3-v2", num_layers=1, max_seq_len=24, lr=1e-4,
                  batch_size=4, epochs=1, eval_examples=12, warmup_ratio=0.0,
                  part_examples=(("para", 8), ("sst", 10), ("sts", 6)),
                  multitask_args=(("sampler", "rr_balanced"), ("sts_head", "regression")))


def toy(**args) -> TrainConfig:
    return dataclasses.replace(TOY, multitask_args=tuple(sorted({**dict(TOY.multitask_args), **args}.items())))


@pytest.fixture(scope="module")
def mean_teacher_run():
    return train(toy(consistency="kl", step="round", swa_epochs=1))


def test_same_seed_same_numbers_and_step_count(mean_teacher_run):
    again = train(toy(consistency="kl", step="round", swa_epochs=1))
    numbers = [{k: v for k, v in run["metrics"].items() if not k.endswith("_seconds")}
               for run in (again, mean_teacher_run)]
    assert numbers[0] == numbers[1] and len(numbers[0]) > 30
    m = mean_teacher_run["metrics"]
    # one summed step per round: ceil(6 / 4) rounds per epoch (the smallest task, STS, sets the balanced sample)
    assert m["steps"] == m["total_steps"] == 2 * steps_per_epoch("rr_balanced", {"sst": 10, "para": 8, "sts": 6}, 4,
                                                                 "round")


def test_teacher_and_swa_weights_are_scored_beside_the_student(mean_teacher_run):
    m = mean_teacher_run["metrics"]
    for name in ("teacher", "swa"):
        assert {f"{name}_{s}_{p}" for s in ("val", "test") for p in ("sst", "para", "sts")} <= set(m)
    # SWA over one extra epoch averages one snapshot: the last weights themselves
    assert [m[f"swa_test_{p}"] for p in ("sst", "para", "sts")] == [m[f"test_last_{p}"] for p in ("sst", "para",
                                                                                                  "sts")]
    assert m["teacher_val_sts"] != m["val_last_sts"]  # the EMA teacher is not the student
    curves = mean_teacher_run["curves"]
    assert curves["consistency_weight"] == [(2, 1.0), (4, 1.0)]  # no ramp-up: the full weight, logged per epoch
    assert {"train_sst", "train_para", "train_sts", "train_consistency"} <= set(curves)


def test_per_batch_steps_and_a_different_seed():
    run = train(dataclasses.replace(toy(step="batch"), data_seed=1))
    assert run["metrics"]["steps"] == 3 * 2  # a step per task batch: 3 tasks x ceil(6 / 4) batches
    assert run["metrics"]["val_last_sst"] >= 0


def test_lp_epochs_leave_the_encoder_as_loaded():
    run = train(dataclasses.replace(toy(lp_epochs=1, sts_head="cosine"), epochs=0), keep_model=True)
    from transformers import AutoModel

    from trainers.assets import model_source
    loaded = AutoModel.from_pretrained(model_source("paraphrase-MiniLM-L3-v2"), num_hidden_layers=1)
    trained = run["model"].bert.state_dict()
    same = [torch.equal(v, trained[k]) for k, v in loaded.state_dict().items() if k in trained and "pooler" not in k]
    assert same and all(same)
    assert run["metrics"]["steps"] > 0 and run["curves"]["train_sst"]


def test_bad_settings_name_what_is_valid():
    with pytest.raises(ValueError, match="multitask has no setting 'samplr' .valid: train_tasks, sampler"):
        resolve({"samplr": "even"})
    with pytest.raises(ValueError, match=r"sampler='zigzag' is invalid \(expected one of sequential, rr_unbalanced"):
        resolve({"sampler": "zigzag"})
    with pytest.raises(ValueError, match="train_tasks='sst\\+nli' is invalid"):
        resolve({"train_tasks": "sst+nli"})
    with pytest.raises(ValueError, match="^objective 'ce' reads no teacher's predictions, got some$"):
        train(toy(), teacher_logits={"sst": np.zeros((10, 5))})
    with pytest.raises(ValueError, match="^objective 'kd' needs its teacher's train-set predictions, got none$"):
        train(kd(0.4))
    with pytest.raises(ValueError, match=rf"^objective 'tfreg' does not serve the multitask trainer "
                                         rf"\(valid: {', '.join(serving(MULTITASK))}\)$"):
        train(dataclasses.replace(toy(), objective="tfreg"))
    with pytest.raises(ValueError, match="temperature=2.0 is invalid .expected multitask KD reads the teacher's"):
        train(dataclasses.replace(kd(0.4), objective_args=(("alpha", 0.4), ("temperature", 2.0))),
              teacher_logits={"sst": np.zeros((10, 5))})
    with pytest.raises(ValueError, match=r"a multitask task \(minBERT\) does not use max_steps=5, llrd=0.9: "
                                         "single-task settings"):
        train(dataclasses.replace(toy(), llrd=0.9, max_steps=5))


def test_mean_teacher_callback_is_a_train_mode_ema_of_the_student():
    from trainers.averaging import flat
    from trainers.callbacks import EpochAverage, MeanTeacher
    student = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5)).eval()  # loaded models come in eval
    teacher = MeanTeacher(decay=0.6)
    teacher.start(student)
    assert all(m.training for m in teacher.model.modules())  # CuriousAI: the teacher's targets see dropout
    assert not any(p.requires_grad for p in teacher.model.parameters())
    before = flat(student)
    with torch.no_grad():
        student[0].weight.add_(1.0)
    teacher.after_step(student)  # step 1: alpha = min(1 - 1/2, .6) = .5, the mean of theta_0 and theta_1
    assert torch.allclose(teacher.weights()["teacher"], (before + flat(student)) / 2)
    swa = EpochAverage(first_epoch=1)
    for epoch in range(3):  # epochs 1 and 2 averaged
        with torch.no_grad():
            student[0].bias.fill_(float(epoch))
        swa.after_epoch(student, epoch)
    assert swa.window.count == 2 and torch.allclose(swa.weights()["swa"][-2:], torch.tensor([1.5, 1.5]))


def kd(alpha: float) -> TrainConfig:
    return dataclasses.replace(toy(), objective="kd", objective_args=(("alpha", alpha), ("temperature", 1.0)),
                               teacher="member1+member2")


def test_kd_from_an_ensemble_of_saved_train_predictions():
    teacher = train(toy(), train_logits=True)
    preds, digest = teacher["train_logits"], teacher["labels_digest"]
    assert {p: v.shape for p, v in preds.items()} == {"sst": (10, 5), "para": (8,), "sts": (6,)}
    assert np.allclose(preds["sst"].sum(1), 1) and ((preds["para"] >= 0) & (preds["para"] <= 1)).all()
    other = {"sst": preds["sst"][:, ::-1].copy(), "para": 1 - preds["para"], "sts": 5 - preds["sts"]}
    plain = teacher  # a plain run that also returned its train-set predictions
    numbers = [{k: v for k, v in run["metrics"].items() if not k.endswith("_seconds")}
               for run in (plain, train(kd(0.0), teacher_logits=[preds, other], teacher_digest=digest))]
    assert numbers[0] == numbers[1]  # alpha 0: the task loss alone, step for step
    run = train(kd(0.4), teacher_logits=[preds, other], teacher_digest=digest)
    assert run["metrics"]["val_last_sst"] != plain["metrics"]["val_last_sst"] or \
        run["metrics"]["val_last_sts"] != plain["metrics"]["val_last_sts"]
    assert run["curves"]["train_distill"][0][1] > 0
    with pytest.raises(ValueError, match="member1\\+member2's train-set predictions are not for this trial's "
                                         "training pools \\(sst 10, para 8, sts 6\\)"):
        train(kd(0.4), teacher_logits=[preds, {**other, "sts": other["sts"][:5]}], teacher_digest=digest)


def _probe(setting):
    """A value a required objective setting accepts (the registry gives checks, not examples)."""
    return next(v for v in (0.5, 1.0, 0.1, 2.0, 1) if setting.check(v))


@pytest.mark.parametrize("name", serving(MULTITASK))
def test_every_multitask_objective_gives_each_task_batch_its_loss(name):
    """Each objective the registry declares for the multitask trainer trains a task batch of every head, logs the
    head's label loss under its name; one that needs a teacher reads its predictions."""
    obj = OBJECTIVES[name]
    args = tuple((k, _probe(s)) for k, s in settings_for(name, MULTITASK).items() if s.default is None)
    rng = np.random.default_rng(0)
    teacher = {"sst": rng.dirichlet(np.ones(5), 10).astype(np.float32), "para": rng.random(8).astype(np.float32),
               "sts": (5 * rng.random(6)).astype(np.float32)} if obj.needs_teacher else None
    cfg = dataclasses.replace(toy(simcse_weight=0.1), objective=name, objective_args=args,
                              teacher="t" if teacher else None)
    run = MultitaskRun(cfg, torch.device("cpu"), teacher)
    for part in PARTS:
        loss = run.batch_loss(Batch(part, (0, 2, 3, 1)))
        assert loss.ndim == 0 and torch.isfinite(loss) and loss.requires_grad
        loss.backward()
    assert all(run.sums[name][1] == 1 for name in (*PARTS, "simcse"))  # each head's label loss, the term on STS


def test_extra_terms_are_picked_by_the_arms_settings():
    """SimCSE, MNR and SMART are on at a non-zero weight, the consistency with a mean teacher; each term's
    settings are the arm's (trainers.multitask.settings), so suite.yaml and the trial ids keep their keys."""
    assert active_terms(resolve({})) == ()
    on = {"simcse_weight": 0.1, "mnr_weight": 0.2, "smart_weight": 0.3, "consistency": "kl"}
    assert [t.name for t in active_terms(resolve(on))] == [t.name for t in TERMS] == ["simcse", "mnr", "smart",
                                                                                       "consistency"]
    assert [t.name for t in active_terms(resolve({"mnr_weight": 0.2, "consistency": "mse"}))] == ["mnr", "consistency"]
    assert {f"{t.name}_weight" for t in TERMS} <= set(SETTINGS)
    assert {t.name: t.parts for t in TERMS if t.parts != PARTS} == {"simcse": ("sts",), "mnr": ("sts",)}


def test_mean_pooling_is_the_masked_mean_of_the_last_layer():
    from trainers.multitask.model import build_multitask_model
    model = build_multitask_model("paraphrase-MiniLM-L3-v2", 0, 1, "concat", "cosine", 0.0, "mean").eval()
    ids = torch.tensor([[101, 2204, 3185, 102, 0, 0], [101, 2204, 102, 0, 0, 0]])
    mask = (ids > 0).long()
    with torch.no_grad():
        pooled = model.embed(ids, mask)
        hidden = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        alone = model.bert(input_ids=ids[1:, :3], attention_mask=mask[1:, :3]).last_hidden_state
    assert torch.allclose(pooled[0], hidden[0, :4].mean(0), atol=1e-6)
    # padding neither enters the mean nor changes it: the second sentence pooled alone gives the same vector
    assert torch.allclose(pooled[1], alone[0].mean(0), atol=1e-5)
    model.pooling = "cls"
    with torch.no_grad():
        assert not torch.allclose(model.embed(ids, mask), pooled, atol=1e-3)


def test_cosine_head_threshold_is_the_best_split_of_the_training_cosines():
    from trainers.multitask.model import CosineLogit
    head = CosineLogit()
    # sorted cosines .1 .2 .8 .9 with labels 0 0 1 1: every pair right with the threshold midway, at .5
    assert head.fit(np.array([0.9, 0.1, 0.8, 0.2]), np.array([1.0, 0.0, 1.0, 0.0])) == 1.0
    assert head.threshold.item() == pytest.approx(0.5)
    # one negative above a positive: the best split (3 of 4 right) is the first maximum, between .2 and .3
    assert head.fit(np.array([0.2, 0.3, 0.6, 0.7]), np.array([0.0, 1.0, 0.0, 1.0])) == 0.75
    assert head.threshold.item() == pytest.approx(0.25)
    # all one label: every pair predicted that label, the threshold beyond the cosines
    assert head.fit(np.array([0.4, 0.5]), np.array([1.0, 1.0])) == 1.0 and head.threshold.item() < 0.4


def test_cosine_head_fit_matches_its_predictions_and_one_mask_serves_both_sentences():
    from trainers.multitask.data import pad_id, part_splits
    from trainers.multitask.model import build_multitask_model
    from trainers.multitask.train import fit_cosine_head, predictions
    model = build_multitask_model("paraphrase-MiniLM-L3-v2", 0, 1, "cosine", "cosine", 0.5, "mean")
    split = part_splits("para", "paraphrase-MiniLM-L3-v2", 24, 24, 12)["train"]
    pad = pad_id("paraphrase-MiniLM-L3-v2")
    fitted = fit_cosine_head(model, split, pad, "fp32")
    assert model.training  # the fit evaluates, then leaves the model as it found it
    right = ((predictions(model, split, "para", pad, "fp32") > 0.5) == (split.labels > 0.5)).mean()
    assert fitted == pytest.approx(right) and fitted >= max(split.labels.mean(), 1 - split.labels.mean())
    # in training, one dropout mask for the pair: a sentence against itself keeps cosine 1 (two masks would not)
    u = torch.randn(3, 16)
    torch.manual_seed(0)
    out = model.head("para", torch.cat([u, u]))
    assert torch.allclose(out, (1 - model.para.threshold) * model.para.scale, atol=1e-5)


def test_prior_biases_are_the_training_labels_statistics():
    from trainers.multitask.model import build_multitask_model
    labels = {"sst": np.array([0, 1, 1, 4]), "para": np.array([1.0, 0.0, 0.0, 0.0]), "sts": np.array([0.4, 2.6, 5.0])}
    model = build_multitask_model("paraphrase-MiniLM-L3-v2", 0, 1, "concat", "regression", 0.3, "mean")
    model.prior_biases(labels)
    # add-one counts 2, 3, 1, 1, 2 of 9; (1 + 1) / (4 + 2) paraphrases; the mean score 8 / 3
    assert torch.allclose(model.sst.bias, torch.log(torch.tensor([2, 3, 1, 1, 2]) / 9.0))
    assert model.para.bias.item() == pytest.approx(np.log(0.5)) and model.sts.bias.item() == pytest.approx(8 / 3)
    classes = build_multitask_model("paraphrase-MiniLM-L3-v2", 0, 1, "concat", "classes", 0.3, "mean")
    classes.prior_biases({"sts": labels["sts"]})  # rounded scores 0, 3, 5: add-one counts 2, 1, 1, 2, 1, 2 of 9
    assert torch.allclose(classes.sts.bias, torch.log(torch.tensor([2, 1, 1, 2, 1, 2]) / 9.0))
    assert torch.all(classes.sst.bias == 0)  # an untrained part keeps its zero bias
