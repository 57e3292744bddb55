"""Stages `export_fp32` and `export_qdq`: ONNX at the profile's opset (capped at 17), dynamic batch,
onnxslim; the Q/DQ model gets its weight QuantizeLinear folded into int8 initializers (DQ only).
Every exported model's accuracy is measured again in ONNX Runtime on the held-out set."""

from __future__ import annotations

import time
from pathlib import Path

import onnx
import torch.nn as nn

from edgekit.bundle import ModelEntry
from edgekit.stages.common import _task, eval_onnx_metrics, example_input, stats
from edgekit.stages.context import BuildContext, StageRecord
from edgekit.stages.onnx_utils import export_onnx, fold_weight_quantize, save, slim


def _eval_record(
    ctx: BuildContext, stage: str, model_id: str, path: Path, model: nn.Module, t0: float
) -> float:
    figures = eval_onnx_metrics(ctx, path)
    acc = figures[_task(ctx).metric_name()]
    # the task's other figures (detection: map50 beside the primary map50_95) join the model's metrics
    ctx.figures[model_id] = {k: v for k, v in figures.items() if k != _task(ctx).metric_name()}
    params, macs = stats(model, example_input(ctx))
    ctx.record(StageRecord(stage, model_id, acc, params, macs, path.stat().st_size, time.perf_counter() - t0))
    return acc


def add_model(ctx: BuildContext, model_id: str, path: Path, precision: str, role: str, flavour: str | None,
              acc: float) -> None:
    ctx.onnx[model_id] = path
    ctx.models.append(ModelEntry(
        id=model_id, file=path.relative_to(ctx.root).as_posix(), precision=precision,  # type: ignore[arg-type]
        role=role, int8_flavour=flavour, opset=ctx.opset,  # type: ignore[arg-type]
        metrics={"accuracy": acc, **ctx.figures.get(model_id, {})},
    ))


def export_fp32_stage(ctx: BuildContext) -> BuildContext:
    assert ctx.teacher is not None and ctx.student is not None
    (ctx.root / "models").mkdir(exist_ok=True)
    pairs = [("teacher_fp32", ctx.teacher, "teacher"), ("student_fp32", ctx.student, "student")]
    if ctx.build.student_is_teacher and "prune" not in ctx.example.plan:
        pairs = pairs[1:]  # no distillation, no pruning: teacher_fp32 would be a byte-identical copy
    for model_id, model, role in pairs:
        t0 = time.perf_counter()
        path = ctx.root / "models" / f"{model_id}.onnx"
        export_onnx(model, path, example_input(ctx), ctx.opset, _task(ctx).output_names())
        slim(path)
        acc = _eval_record(ctx, "export", model_id, path, model, t0)
        add_model(ctx, model_id, path, "fp32", role, None, acc)
        ctx.torch_models[model_id] = model
    return ctx


def export_qdq_stage(ctx: BuildContext) -> BuildContext:
    assert ctx.qmodel is not None
    t0 = time.perf_counter()
    model_id = "student_int8_qdq"
    path = ctx.root / "models" / f"{model_id}.onnx"
    export_onnx(ctx.qmodel, path, example_input(ctx), ctx.opset, _task(ctx).output_names())
    slim(path)
    proto = onnx.load(str(path))
    ctx.extra.setdefault("qdq", {})["weights_folded"] = fold_weight_quantize(proto)
    save(proto, path)
    acc = _eval_record(ctx, "export_qdq", model_id, path, ctx.student or ctx.qmodel, t0)
    add_model(ctx, model_id, path, "int8", "student", "trt_qdq", acc)
    ctx.torch_models[model_id] = ctx.qmodel
    return ctx
