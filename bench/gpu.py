"""GPU levers and model FLOPs utilisation (MFU) of the shared trainer's training step, BERT-base and BERT-large
sized (random init: the step's cost does not depend on the weights' values).

The step is the trainer's own: ``trainers.loop.forward_backward`` (autocast) and ``trainers.loop.optimizer_step``
(clipping, the optimizer from ``trainers.optim.build_optimizer``, fresh gradients). Needs only torch and
transformers, so it runs on a bare CUDA image: ``python -m bench.gpu --out FILE.json``.

Model FLOPs per trained token (Chowdhery et al. 2022, App. B): 6 N + 12 L H S, with N the matrix-multiply
weights (encoder blocks, pooler, classifier; embedding lookups do no matrix work), L blocks, H hidden size,
S sequence length. MFU = model FLOPs per second / the GPU's dense bf16 peak.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import tempfile
import time

import torch

# Dense bf16 tensor-core peaks from NVIDIA's datasheets (TFLOP/s), by the name torch reports.
DATASHEET_BF16 = {"H100 80GB HBM3": 989.4, "H100 SXM": 989.4, "H100 PCIe": 756.0, "H100 NVL": 835.0,
                  "H200": 989.4, "A100": 312.0, "L40S": 362.0, "L4": 121.0}

SIZES = {  # (hidden, blocks, heads, intermediate): BERT-base and BERT-large (Devlin et al. 2019, Sec. 3)
    "bert-base": (768, 12, 12, 3072),
    "bert-large": (1024, 24, 16, 4096),
    "tiny": (128, 2, 2, 512),  # --dry: checks the script on a CPU
}


def datasheet_peak(name: str) -> float | None:
    for key, tflops in DATASHEET_BF16.items():
        if key in name:
            return tflops * 1e12
    return None


def measured_matmul_peak(dev: torch.device, n: int = 8192, reps: int = 10) -> float:
    a, b = (torch.randn(n, n, device=dev, dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * n ** 3 * reps / (time.perf_counter() - t)


def build(size: str, dev: torch.device):
    from transformers import BertConfig, BertForSequenceClassification
    hidden, layers, heads, inner = SIZES[size]
    config = BertConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=inner, num_labels=2, attn_implementation="sdpa")
    torch.manual_seed(0)
    return BertForSequenceClassification(config).to(dev), config


def matmul_params(model) -> int:
    return sum(m.weight.numel() for name, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and "embeddings" not in name)


def flops_per_step(model, config, batch: int, seq: int) -> float:
    per_token = 6 * matmul_params(model) + 12 * config.num_hidden_layers * config.hidden_size * seq
    return per_token * batch * seq


def time_steps(step, steps: int, warmup: int, dev: torch.device) -> float:
    """Median seconds per step over ``steps`` timed steps (each synchronised)."""
    for _ in range(warmup):
        step()
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    sync()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def variant_step(size: str, batch: int, seq: int, dev: torch.device, precision: str, tf32: bool, fused: bool,
                 compile_mode: str | None, step_sync: bool):
    """One training step as the trainer runs it, under the given levers."""
    from trainers.loop import forward_backward, optimizer_step
    from trainers.optim import build_optimizer
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    model, config = build(size, dev)
    model.train()
    optimizer = build_optimizer(model, "adamw", 2e-5)
    if not fused:
        for group in optimizer.param_groups:
            group["fused"], group["foreach"] = False, True
    forward = torch.compile(model, mode=compile_mode) if compile_mode else model
    g = torch.Generator(device="cpu").manual_seed(0)
    inputs = {"input_ids": torch.randint(1000, config.vocab_size, (batch, seq), generator=g).to(dev),
              "attention_mask": torch.ones(batch, seq, dtype=torch.long, device=dev),
              "token_type_ids": torch.zeros(batch, seq, dtype=torch.long, device=dev)}
    labels = torch.randint(0, 2, (batch,), generator=g).to(dev)
    scaler = torch.amp.GradScaler(dev.type, enabled=False)

    def step():
        loss = forward_backward(forward, inputs, labels, precision, scaler)
        if step_sync:  # the trainer before its LossLog: a finite check and loss.item() after every step
            bool(torch.isfinite(loss))
            loss.item()
        optimizer_step(model, optimizer, scaler, 1.0)

    return step, model, config


VARIANTS = {  # name: (precision, TF32, fused optimizer, torch.compile mode, per-step host sync)
    "fp32": ("fp32", False, True, None, False),
    "fp32 + TF32": ("fp32", True, True, None, False),
    "bf16 autocast": ("bf16", True, True, None, False),
    "bf16, unfused (foreach) AdamW": ("bf16", True, False, None, False),
    "bf16, per-step sync (old loop)": ("bf16", True, True, None, True),
    "bf16 + torch.compile": ("bf16", True, True, "default", False),
    "bf16 + compile, CUDA graphs": ("bf16", True, True, "reduce-overhead", False),
}

PLAN = [  # (size, batch, seq, variants)
    ("bert-base", 32, 128, ["bf16 autocast", "bf16 + torch.compile", "bf16 + compile, CUDA graphs"]),
    ("bert-large", 32, 128, ["bf16 autocast", "bf16, per-step sync (old loop)", "bf16 + torch.compile",
                             "bf16 + compile, CUDA graphs"]),
    ("bert-large", 128, 128, ["bf16 autocast", "bf16 + torch.compile"]),
    ("bert-large", 32, 512, ["bf16 + compile, CUDA graphs"]),
]


def profile_step(step, dev: torch.device, steps: int = 3) -> str:
    """The kernels a few steps spend their device time in, by operator (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
    key = "self_cuda_time_total" if dev.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=18, max_name_column_width=60)


def weight_cache(dev: torch.device) -> dict:
    """Seconds to get a fresh BERT-large classifier: from_pretrained from local disk vs a copy of one kept in memory
    (what a Ray worker that keeps its loaded weights does)."""
    from transformers import AutoModelForSequenceClassification
    model, _ = build("bert-large", torch.device("cpu"))
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        t = time.perf_counter()
        AutoModelForSequenceClassification.from_pretrained(folder).to(dev)
        load = time.perf_counter() - t
        t = time.perf_counter()
        copy.deepcopy(model).to(dev)
        kept = time.perf_counter() - t
    return {"from_pretrained_s": load, "kept_copy_s": kept}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file for the results")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--dry", action="store_true", help="tiny model on the CPU: checks the script only")
    parser.add_argument("--case", action="append", metavar="SIZE,BATCH,SEQ,VARIANT",
                        help="run only these cases (repeatable), e.g. 'bert-large,128,128,bf16 + torch.compile'")
    parser.add_argument("--profile", action="store_true", help="print where a step's GPU time goes (torch.profiler)")
    parser.add_argument("--weight-cache", action="store_true", help="also time from_pretrained vs a kept copy")
    args = parser.parse_args(argv)
    dev = torch.device("cuda" if torch.cuda.is_available() and not args.dry else "cpu")
    if dev.type != "cuda" and not args.dry:
        raise SystemExit("bench.gpu: no CUDA GPU here (use --dry to check the script on a CPU)")
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    result = {"device": name, "torch": torch.__version__, "rows": []}
    if dev.type == "cuda":
        import transformers
        result.update(transformers=transformers.__version__, datasheet_bf16_flops=datasheet_peak(name),
                      measured_bf16_matmul_flops=measured_matmul_peak(dev))
        print(f"{name}: bf16 matmul {result['measured_bf16_matmul_flops'] / 1e12:.0f} TFLOP/s measured, "
              f"datasheet {result['datasheet_bf16_flops'] and result['datasheet_bf16_flops'] / 1e12}", flush=True)
    plan = [("tiny", 4, 16, list(VARIANTS)[:3])] if args.dry else PLAN
    if args.case:
        plan = [(size, int(batch), int(seq), [variant]) for size, batch, seq, variant in
                (case.split(",", 3) for case in args.case)]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    for size, batch, seq, variants in plan:
        for variant in variants:
            precision, tf32, fused, compile_mode, step_sync = VARIANTS[variant]
            if args.dry and compile_mode:
                continue
            step, model, config = variant_step(size, batch, seq, dev, precision, tf32, fused, compile_mode, step_sync)
            seconds = time_steps(step, args.steps, 10 if compile_mode else 3, dev)
            flops = flops_per_step(model, config, batch, seq)
            row = {"size": size, "batch": batch, "seq": seq, "variant": variant, "step_s": seconds,
                   "examples_per_s": batch / seconds, "tokens_per_s": batch * seq / seconds,
                   "model_tflops": flops / seconds / 1e12,
                   "mfu": flops / seconds / result["datasheet_bf16_flops"] if result.get("datasheet_bf16_flops")
                   else None,
                   "peak_mem_gib": torch.cuda.max_memory_allocated() / 2 ** 30 if dev.type == "cuda" else None}
            result["rows"].append(row)
            if args.profile:
                table = profile_step(step, dev)
                result.setdefault("profiles", []).append({"case": f"{size} b{batch} s{seq} {variant}", "table": table})
                print(table, flush=True)
            _write(args.out, result)  # after every row: a time limit keeps what was measured
            print(f"{size} b{batch} s{seq} {variant:32s} {seconds * 1e3:8.1f} ms/step {row['model_tflops']:7.1f} "
                  f"TFLOP/s" + (f"  MFU {row['mfu']:.1%}" if row["mfu"] else ""), flush=True)
            del step, model
            if dev.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
                torch._dynamo.reset()
    if dev.type == "cuda" and args.weight_cache:
        result["weight_cache"] = weight_cache(dev)
        print("weight cache (BERT-large):", result["weight_cache"], flush=True)
    _write(args.out, result)


def _write(path: str, result: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
