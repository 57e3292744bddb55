"""Stage `trt_plan`: the engine build plan and the equivalent ``trtexec`` lines (``edgekit.trt.plan``). No
engine is built here; TensorRT is not on this host."""

from __future__ import annotations

from edgekit.stages.context import BuildContext
from edgekit.stages.results import _jsonable, _results


def trt_plan(ctx: BuildContext) -> BuildContext:
    if ctx.profile.backend != "tensorrt":
        return ctx
    from edgekit.trt.plan import write_plan

    _results(ctx)["trt_plan"] = _jsonable(write_plan(ctx.root, ctx.profile, ctx.models))
    ctx.reporter.log("TensorRT: no TensorRT on this host — wrote trt/plan.json and trt/build.sh "
                     "(engines are built on the device; none was built here)")
    return ctx
