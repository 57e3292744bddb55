"""Stage `trt_check`: the static TensorRT/DLA check of every TensorRT-bound model; an error in a deployed
model stops the build with the fix to make (teachers are checked for information only)."""

from __future__ import annotations

from typing import Any

from edgekit.errors import ConfigError
from edgekit.stages.context import BuildContext
from edgekit.stages.results import _results


def trt_check(ctx: BuildContext) -> BuildContext:
    if ctx.profile.backend != "tensorrt":
        return ctx
    from edgekit.trt.check import check_model

    reports: dict[str, Any] = {}
    blocking: list[str] = []
    for m in ctx.models:
        if m.int8_flavour == "ort_cpu" or m.id not in ctx.onnx:
            continue
        if m.int8_flavour == "dla_implicit":  # the translated model: INT8 from the calibration cache, on DLA
            rep = check_model(ctx.onnx[m.id], ctx.profile, precision="int8", use_dla=True)
        else:
            rep = check_model(ctx.onnx[m.id], ctx.profile)
        reports[m.id] = rep.to_dict()
        counts = rep.counts()
        placement = (f", DLA {counts['dla']} / GPU {counts['gpu'] + counts['gpu-only']} layers, "
                     f"{rep.transitions} GPU↔DLA transitions" if rep.use_dla else "")
        ctx.reporter.log(f"check {m.id} ({rep.precision}{', DLA' if rep.use_dla else ''}): "
                         f"{len(rep.errors)} errors, {len(rep.warnings)} warnings{placement}")
        if m.role != "teacher":
            blocking += [f"{m.id}: node {f.node} ({f.op}): {f.message} — fix: {f.fix}" for f in rep.errors]
    _results(ctx)["trt_check"] = reports
    if blocking:
        more = f" (and {len(blocking) - 1} more; run `edgekit check`)" if len(blocking) > 1 else ""
        raise ConfigError(f"the model cannot be built for {ctx.profile.name}: {blocking[0]}{more}",
                          "change the model or pick another device profile")
    return ctx
