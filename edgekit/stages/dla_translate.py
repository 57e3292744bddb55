"""Stage `dla_translate`: for profiles whose DLA wants implicit INT8, the Q/DQ model → a Q/DQ-free ONNX, a
TensorRT calibration cache and a per-layer precision file (``edgekit.trt.dla_int8``); the Q/DQ-free model
joins
the manifest as ``student_int8_dla`` (``int8_flavour: dla_implicit``)."""

from __future__ import annotations

from edgekit.stages.context import BuildContext
from edgekit.stages.results import DLA_MODEL_ID, _jsonable, _results


def dla_translate(ctx: BuildContext) -> BuildContext:
    if ctx.profile.dla_int8_flavour != "dla_implicit" or "student_int8_qdq" not in ctx.onnx:
        return ctx
    from edgekit.bundle import ModelEntry
    from edgekit.trt.dla_int8 import translate

    tr = translate(ctx.onnx["student_int8_qdq"], ctx.root / "models", ctx.profile)
    summary = _jsonable(tr)
    _results(ctx)["dla_translate"] = summary
    noqdq = tr.noqdq_onnx
    ctx.onnx[DLA_MODEL_ID] = noqdq
    ctx.dla_cache = tr.cache
    ctx.models.append(ModelEntry(id=DLA_MODEL_ID, file=f"models/{noqdq.name}", precision="int8",
                                 role="student", int8_flavour="dla_implicit", opset=ctx.opset))
    ctx.reporter.log(f"DLA INT8: Q/DQ-free model + calibration cache written for {ctx.profile.name}")
    return ctx
