"""What only the revisiting report needs: its task columns, colours and the names of its settings."""
from __future__ import annotations

SMALL_TASKS = ["RTE", "MRPC", "STS-B", "CoLA"]
ONEK_TASKS = ["RTE (1k)", "MRPC (1k)", "STS-B (1k)", "CoLA (1k)", "SST-2 (1k)", "QNLI (1k)", "QQP (1k)", "MNLI (1k)"]
PAPER_NAMES = {"SST-2 (1k)": "SST (1k)"}
COLORS = {"adamw": "tab:blue", "bertadam": "tab:red", "standard": "tab:blue", "reinit": "tab:orange"}


def setting_text(choice: dict) -> str:
    names = {"reinit": "L", "max_steps": "steps", "lr_scale": "lr x", "llrd": "decay", "mixout": "p",
             "pretrained_wd": "λ", "weight_decay": "λ"}
    return ", ".join(f"{names.get(k, k)}={'3 epochs' if v is None else v}" for k, v in choice.items())
