"""Self-KD (Kobyzev et al. Eq. 6): KD (Eq. 1, `kd.kd_loss`) where the teacher is a frozen fine-tuned copy of
the student, i.e. the same-seed Finetune (`ce`) trial; q' = (1 - alpha) q + alpha p^{s'}. The planner
resolves which trial supplies the teacher logits; the loss itself is KD's.
"""
from __future__ import annotations

from . import Objective
from .kd import SETTINGS, kd_loss, kd_target

OBJECTIVE = Objective("selfkd", "self-distillation from the fine-tuned student (Kobyzev et al. Eq. 6)",
                      SETTINGS, True, kd_loss, kd_target)
