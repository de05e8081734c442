"""`precision: auto` (trainers.execution.auto_precision): bf16 where the planning machine has bf16 units, fp32
elsewhere; the resolved precision is the trial's, so it is in the trial id and the MLflow params."""
import dataclasses
from pathlib import Path

import pytest
import torch
import yaml

from pipelines.config import DEFAULT_CONFIG, ConfigError, load
from pipelines.plan import make_plan
from trainers import execution
from trainers.config import TrainConfig

XEON = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu sse avx512f avx512_bf16 amx_bf16 amx_tile\n"
EPYC = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n"
AVX512_BF16_ONLY = "flags\t\t: fpu avx512f avx512_bf16\n"
TINY = dict(model="all-MiniLM-L6-v2", num_layers=1, max_seq_len=32, batch_size=8, lr=1e-4, epochs=1,
            evaluations=2, train_examples=24, eval_examples=24, init_seed=1, data_seed=1)


@pytest.fixture
def machine(monkeypatch):
    """A CPU-only machine whose /proc/cpuinfo is the text given to the returned setter."""
    monkeypatch.delenv("SUITE_PRECISION", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def use(cpuinfo: str) -> None:
        monkeypatch.setattr(execution, "_cpuinfo", lambda: cpuinfo)
        execution.machine_precision.cache_clear()
    yield use
    execution.machine_precision.cache_clear()


@pytest.mark.parametrize("cpuinfo,units", [(XEON, True), (AVX512_BF16_ONLY, True), (EPYC, False), ("", False)])
def test_bf16_units_read_the_cpu_flags(cpuinfo, units):
    assert execution.bf16_units(cpuinfo) is units


def test_auto_is_bf16_with_bf16_units_and_fp32_without(machine, monkeypatch):
    machine(XEON)
    assert execution.auto_precision() == "bf16" and execution.resolve_precision("auto") == "bf16"
    machine(EPYC)
    assert execution.auto_precision() == "fp32" and execution.resolve_precision("auto") == "fp32"
    assert execution.resolve_precision("fp16") == "fp16"  # a named precision is kept as it is
    monkeypatch.setenv("SUITE_PRECISION", "bf16")  # e.g. to plan the trial ids another machine ran
    assert execution.resolve_precision("auto") == "bf16" and execution.resolve_precision("fp32") == "fp32"
    monkeypatch.setenv("SUITE_PRECISION", "fp8")
    with pytest.raises(ValueError, match=r"^SUITE_PRECISION: unknown precision 'fp8' \(valid: fp32, bf16\)$"):
        execution.auto_precision()


def _signal(tmp_path: Path, precision) -> Path:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["runs_dir"] = str(tmp_path / "runs")
    data["profiles"]["signal"]["precision"] = precision
    data["profiles"]["signal"]["papers"]["revisiting"].pop("precision")  # the paper's own `auto` would win
    path = tmp_path / f"suite-{precision}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_validation_takes_auto_and_names_the_valid_precisions(tmp_path):
    assert load(_signal(tmp_path, "auto")).profile("signal", "revisiting")[1].precision == "auto"
    with pytest.raises(ConfigError) as bad:
        load(_signal(tmp_path, "fp8"))
    assert str(bad.value) == ("suite-fp8.yaml: profiles.signal.precision: unknown precision 'fp8' "
                              "(valid: fp32, fp16, bf16, auto)")


def test_auto_leaves_trial_ids_unchanged_where_the_machine_has_no_bf16_units(tmp_path, machine, monkeypatch):
    experiments = ["bias_correction", "reinit", "precision"]
    today = make_plan(load(_signal(tmp_path, "fp32")), "revisiting", "signal", experiments)
    machine(EPYC)
    auto = load(_signal(tmp_path, "auto"))
    assert list(make_plan(auto, "revisiting", "signal", experiments).specs) == list(today.specs)
    machine(XEON)
    plan = make_plan(auto, "revisiting", "signal", experiments)
    assert len(plan.specs) == len(today.specs) and not set(plan.specs) & set(today.specs)
    assert {s.config.precision for s in plan.unique()} == {"bf16"}
    # an arm's own precision wins over the profile's: Appendix C's arms (stand-ins at this profile) stay fp32
    # (its `full` baseline, pinned in suite.yaml) and fp16, whatever `auto` means here
    assert {s.config.precision for s in plan.estimates["precision"]} == {"fp32", "fp16"}
    monkeypatch.setenv("SUITE_PRECISION", "fp32")
    assert list(make_plan(auto, "revisiting", "signal", experiments).specs) == list(today.specs)
    monkeypatch.setenv("SUITE_PRECISION", "half")
    with pytest.raises(ConfigError, match="SUITE_PRECISION: unknown precision 'half'"):
        make_plan(auto, "revisiting", "signal", experiments)


def test_a_trained_bf16_trial_is_another_trial_and_its_params_say_bf16(tmp_path, monkeypatch):
    """A tiny bf16 trial trains (eager attention on a CPU), has its own id, and its MLflow run's params say bf16."""
    from unittest import mock

    from mlflow.tracking import MlflowClient

    from pipelines import trial
    from pipelines.plan import TrialSpec, trial_id
    fp32 = TrainConfig(task="RTE", **TINY)
    bf16 = dataclasses.replace(fp32, precision="bf16")
    assert trial_id(bf16) != trial_id(fp32)
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.create_experiment("precision", artifact_location=f"file://{tmp_path}/artifacts")
    spec = TrialSpec(trial_id(bf16), bf16, "RTE s1 bf16")
    where = {"host": "h", "ray_node_id": "n" * 12, "node_ip": "127.0.0.1", "worker_pid": 1}
    reported = []
    with mock.patch.object(trial, "worker_provenance", return_value=where), \
            mock.patch.object(trial.tune, "report", side_effect=reported.append):
        trial.run_trial({"threads": 1, "spec": {"config": bf16.to_dict(), "tags": spec.tags(), "run_name": spec.name},
                         "run_tags": {}, "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
                         "experiment_id": experiment})
    assert reported[-1]["outcome"] == "finished" and reported[-1]["trial_id"] == spec.trial_id
    run = client.search_runs([experiment])[0]
    assert run.data.params["precision"] == "bf16" and run.data.tags["trial_id"] == trial_id(bf16)


def test_bf16_on_a_cpu_runs_eager_attention_and_fp32_keeps_sdpa(monkeypatch):
    from trainers.model import build_model
    cpu = torch.device("cpu")
    model = build_model("all-MiniLM-L6-v2", 2, 1, 1)
    assert not execution.cpu_bf16_attention(model, "fp32", cpu)
    assert model.config._attn_implementation == "sdpa"
    monkeypatch.setenv("SUITE_CPU_EAGER_ATTENTION", "0")
    assert not execution.cpu_bf16_attention(model, "bf16", cpu)
    monkeypatch.delenv("SUITE_CPU_EAGER_ATTENTION")
    assert execution.cpu_bf16_attention(model, "bf16", cpu)
    assert model.config._attn_implementation == "eager"
