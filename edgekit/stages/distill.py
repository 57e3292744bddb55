"""Stage `distill`: knowledge distillation of the student from the teacher.

loss = alpha * KL(softmax(t/T) || softmax(s/T)) * T^2 + (1 - alpha) * CE(s, y)
(Hinton et al.; the T^2 keeps the soft-target gradients' scale independent of T)."""

from __future__ import annotations

import copy
import time

import torch
import torch.nn.functional as F

from edgekit.stages.common import (
    LossFn,
    accuracy,
    ce_loss,
    example_input,
    predict,
    seed_all,
    stats,
    train_epochs,
)
from edgekit.stages.context import BuildContext, StageRecord


def kd_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
    temperature: float, alpha: float,
) -> torch.Tensor:
    t = temperature
    soft = F.kl_div(
        F.log_softmax(student_logits / t, dim=1), F.log_softmax(teacher_logits / t, dim=1),
        reduction="batchmean", log_target=True,
    ) * (t * t)
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft + (1.0 - alpha) * hard


def distill_loss(ctx: BuildContext) -> LossFn:
    """The KD loss against the cached teacher logits, or plain cross-entropy when there are none
    (no distillation in the plan): used by distill, and by the fine-tune and QAT stages after it."""
    t_logits = ctx.teacher_logits
    if t_logits is None:
        return ce_loss
    r = ctx.recipe

    def loss(logits: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return kd_loss(logits, t_logits[idx], labels, r.temperature, r.alpha)

    return loss


def distill_stage(ctx: BuildContext) -> BuildContext:
    t0 = time.perf_counter()
    assert ctx.teacher is not None and ctx.x_train is not None and ctx.x_eval is not None
    assert ctx.y_eval is not None
    seed_all(ctx.seed + 2)
    student = ctx.example.student(ctx.profile, ctx.teacher)
    if student is None or "distill" not in ctx.example.plan:
        ctx.student = copy.deepcopy(ctx.teacher)  # the teacher itself is deployed
        ctx.extra["student_is_teacher"] = True
        return ctx
    # No augmentation: the teacher's logits on the training set are computed once.
    ctx.teacher_logits = predict(ctx.teacher, ctx.x_train)
    r = ctx.recipe
    train_epochs(ctx, student, r.distill_epochs, r.lr, "distill", loss_fn=distill_loss(ctx), seed_offset=2)
    ctx.student = student.eval()
    params, macs = stats(student, example_input(ctx))
    ctx.record(StageRecord("distill", "student", accuracy(student, ctx.x_eval, ctx.y_eval), params, macs,
                           None, time.perf_counter() - t0))
    return ctx
