"""Stage `qat` / `ptq`: the TensorRT-flavour fake-quant student (see fakequant.py).

Conv→BatchNorm pairs are folded first (torch.fx), so the exported Q/DQ model has one
DQ(weight) → Conv per layer and the torch fake-quant model computes exactly what the ONNX computes.
`ptq` calibrates only; `qat` calibrates, then trains with the scales of the activations fixed."""

from __future__ import annotations

import copy
import time

import torch
import torch.nn as nn

from edgekit.stages import fakequant as fq
from edgekit.stages.common import eval_model, example_input, seed_all, stats, train_step
from edgekit.stages.context import BuildContext, StageRecord


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Conv+BN folded (eval mode) by torch.fx; the model unchanged if it cannot be traced."""
    from torch.fx.experimental.optimization import fuse

    model = copy.deepcopy(model).eval()
    try:
        return fuse(model, inplace=False)
    except Exception:  # untraceable control flow: keep BN as separate nodes (still correct)
        return model


def build_fake_quant(student: nn.Module, x_calib: torch.Tensor, bs: int = 64) -> nn.Module:
    q = fq.quantize_modules(fold_batchnorm(student))
    fq.calibrate(q, [x_calib[i : i + bs] for i in range(0, len(x_calib), bs)])
    return q


def qat_stage(ctx: BuildContext) -> BuildContext:
    t0 = time.perf_counter()
    assert ctx.student is not None and ctx.x_calib is not None
    seed_all(ctx.seed + 4)
    qmodel = build_fake_quant(ctx.student, torch.from_numpy(ctx.x_calib))
    name = "qat" if "qat" in ctx.example.plan else "ptq"
    if name == "qat":
        ctx.build.ptq_accuracy = eval_model(ctx, qmodel)
        from edgekit.stages.reuse import key_for

        key_for(ctx, "qat", ctx.keys.get("prune") or ctx.keys.get("distill") or ctx.keys.get("teacher"))
        train_step(ctx, qmodel, "qat", ctx.recipe.qat_epochs, ctx.recipe.qat_lr, kd=True, seed_offset=4)
    fq.freeze(qmodel)
    qmodel.eval()
    ctx.qmodel = qmodel
    params, macs = stats(ctx.student, example_input(ctx))  # same layers; the counter ignores Quant* types
    ctx.record(StageRecord(name, "student_int8_qdq", eval_model(ctx, qmodel), params, macs,
                           None, time.perf_counter() - t0))
    return ctx
