"""Post-export stages that call the TensorRT, parity and bench packages.

* ``dla_translate``: for profiles whose DLA wants implicit INT8, the Q/DQ model → a Q/DQ-free ONNX, a TensorRT
  calibration cache and a per-layer precision file (``edgekit.trt.dla_int8``); the Q/DQ-free model joins the
  manifest as ``student_int8_dla`` (``int8_flavour: dla_implicit``).
* ``trt_check``: the static TensorRT/DLA check of every TensorRT-bound model; an error in a deployed model
  stops the build with the fix to make (teachers are checked for information only).
* ``trt_plan``: the engine build plan and the equivalent ``trtexec`` lines (``edgekit.trt.plan``). No engine
  is built here; TensorRT is not on this host.
* ``dla_verify`` (after ``golden``): the translation proven on the golden set, re-inserting per-tensor fake
  quantization from the cache and comparing with the Q/DQ model in ONNX Runtime (top-1 agreement ≥ 99 %).
* ``parity_reference``: the training-side golden record parity compares against.
* ``bench_estimate``: the roofline latency estimate per layer and in total, for the GPU and the DLA.
Results go to ``manifest.extra["hooks"]``.
"""

from __future__ import annotations

from typing import Any

from edgekit.errors import ConfigError
from edgekit.stages.context import BuildContext

DLA_MODEL_ID = "student_int8_dla"


def _jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "model_dump"):
        return _jsonable(obj.model_dump(mode="json"))
    return str(obj)


def _results(ctx: BuildContext) -> dict[str, Any]:
    return ctx.extra.setdefault("hooks", {})


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


def trt_plan(ctx: BuildContext) -> BuildContext:
    if ctx.profile.backend != "tensorrt":
        return ctx
    from edgekit.trt.plan import write_plan

    _results(ctx)["trt_plan"] = _jsonable(write_plan(ctx.root, ctx.profile, ctx.models))
    ctx.reporter.log("TensorRT: no TensorRT on this host — wrote trt/plan.json and trt/build.sh "
                     "(engines are built on the device; none was built here)")
    return ctx


def dla_verify(ctx: BuildContext) -> BuildContext:
    if DLA_MODEL_ID not in ctx.onnx:
        return ctx
    import numpy as np

    from edgekit.preprocess import run as run_preprocess
    from edgekit.trt.dla_int8 import verify_translation

    assert ctx.dla_cache is not None
    x = np.concatenate([run_preprocess(ctx.example.spec, ctx.root / g.input)[0] for g in ctx.golden])
    res = verify_translation(ctx.onnx["student_int8_qdq"], ctx.onnx[DLA_MODEL_ID], ctx.dla_cache, x)
    _results(ctx)["dla_verify"] = _jsonable(res)
    ctx.reporter.log(f"DLA INT8 translation vs Q/DQ model on {res['n']} golden images: top-1 agreement "
                     f"{res['top1_agreement']:.1%}, max |d| {res['max_abs_diff']:.3g}")
    if not res["passed"]:
        raise ConfigError(
            f"the DLA INT8 translation agrees with the Q/DQ model on only {res['top1_agreement']:.1%} of the "
            f"golden set (need ≥ {res['min_agreement']:.0%})",
            "report this with the bundle's models; build the GPU INT8 engine meanwhile",
        )
    return ctx


def parity_reference(ctx: BuildContext) -> BuildContext:
    from edgekit.parity.reference import write_reference

    assert ctx.manifest is not None
    write_reference(ctx.root, ctx.manifest, ctx.torch_models)
    _results(ctx)["parity_reference"] = "written"
    return ctx


def bench_estimate(ctx: BuildContext) -> BuildContext:
    from edgekit.bench.estimate import estimate

    assert ctx.manifest is not None
    _results(ctx)["bench_estimate"] = _jsonable(estimate(ctx.root, ctx.manifest, ctx.profile))
    return ctx
