"""Per-block L2 distance of the weights to their values at the start of fine-tuning (Sec. 5, Figures 7, 15-18):
all parameters of a Transformer block concatenated, ||theta_t - theta_0||_2."""
from __future__ import annotations

import torch

from trainers.layers import blocks


class BlockDistance:
    def __init__(self, model: torch.nn.Module):
        self.params = [list(block.parameters()) for block in blocks(model)]
        self.start = [[p.detach().clone() for p in params] for params in self.params]

    @torch.no_grad()
    def measure(self) -> list[float]:
        out = []
        for params, start in zip(self.params, self.start):
            diffs = torch._foreach_sub(params, start)
            out.append(float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(diffs)))))
        return out


def measure_steps(total: int, points: int = 20) -> set[int]:
    """Evenly spaced steps at which the distances are recorded (plus step 0, where they are 0)."""
    return {round(k * total / points) for k in range(points + 1)}
