"""Stage `distill`: knowledge distillation of the student from the teacher.

loss = alpha * KL(softmax(t/T) || softmax(s/T)) * T^2 + (1 - alpha) * CE(s, y)
(Hinton et al.; the T^2 keeps the soft-target gradients' scale independent of T)."""

from __future__ import annotations

import copy
import time

import torch

from edgekit.project.task import Classification
from edgekit.stages.common import eval_model, example_input, seed_all, stats, train_step
from edgekit.stages.context import BuildContext, StageRecord


def kd_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
    temperature: float, alpha: float,
) -> torch.Tensor:
    """The classification task's KD loss (edgekit/project/task.py), used by the training steps."""
    return Classification().kd_loss(student_logits, teacher_logits, labels, temperature, alpha)


def distill_stage(ctx: BuildContext) -> BuildContext:
    from edgekit.stages.reuse import key_for, lookup, records_of, store

    t0 = time.perf_counter()
    assert ctx.teacher is not None
    seed_all(ctx.seed + 2)
    student = ctx.example.student(ctx.profile, ctx.teacher)
    if student is None or "distill" not in ctx.example.plan:
        ctx.student = copy.deepcopy(ctx.teacher)  # the teacher itself is deployed
        ctx.build.student_is_teacher = True
        ctx.keys["distill"] = ctx.keys.get("teacher", "")
        return ctx
    ctx.kd_teacher = ctx.teacher  # online: the teacher runs on each (augmented) training batch
    key = key_for(ctx, "distill", ctx.keys.get("teacher"))
    hit = lookup(ctx, "distill", key)
    if hit is not None:
        student.load_state_dict(hit["state"])
        ctx.student = student.eval()
        for rec in records_of(hit):
            ctx.record(rec)
        return ctx
    r = ctx.recipe
    train_step(ctx, student, "distill", r.distill_epochs, r.lr, kd=True, seed_offset=2)
    ctx.student = student.eval()
    params, macs = stats(student, example_input(ctx))
    rec = StageRecord("distill", "student", eval_model(ctx, student), params, macs,
                      None, time.perf_counter() - t0)
    ctx.record(rec)
    store(ctx, "distill", key, student.state_dict(), [rec])
    return ctx
