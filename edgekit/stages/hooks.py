"""Optional post-export stages that call other edgekit packages when they import.

Each hook is an ordinary stage ``(ctx) -> ctx``; a hook whose module is missing records
``"skipped: <module> not available"`` in ``manifest.extra["hooks"]`` and changes nothing. A hook whose module
needs a third-party package that is not installed is skipped the same way. A hook whose
module imports runs for real, and its errors fail the build (the staging folder is discarded).
The call conventions below are the contract the integrator fills in:

* ``edgekit.trt.check.check_model(onnx_path, profile)`` for every ONNX model (TensorRT profiles);
* ``edgekit.trt.dla_int8.translate(qdq_onnx_path, out_dir, profile)`` (profiles whose DLA wants
  ``dla_implicit`` INT8), returning the written files or a summary;
* ``edgekit.trt.plan.write_plan(root, profile, models)`` (TensorRT profiles);
* ``edgekit.parity.reference.write_reference(root, manifest, torch_models)`` (after the manifest is
  assembled, before it is hashed and written);
* ``edgekit.bench.estimate.estimate(root, manifest, profile)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from edgekit.stages.context import BuildContext


def _module(name: str) -> tuple[Any | None, str]:
    """(module, "") or (None, why it is skipped)."""
    try:
        return importlib.import_module(name), ""
    except ModuleNotFoundError as exc:
        missing = exc.name or "?"
        if name == missing or name.startswith(missing + "."):
            return None, f"skipped: {name} not available"  # the module (or its package) does not exist
        if not missing.startswith("edgekit"):
            return None, f"skipped: {name} needs {missing}, which is not installed"  # optional dependency
        raise


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


def _hook(name: str, module: str, when: Callable[[BuildContext], bool],
          call: Callable[[Any, BuildContext], Any]) -> Callable[[BuildContext], BuildContext]:
    def stage(ctx: BuildContext) -> BuildContext:
        results = ctx.extra.setdefault("hooks", {})
        if not when(ctx):
            return ctx
        mod, why = _module(module)
        if mod is None:
            results[name] = why
            return ctx
        results[name] = _jsonable(call(mod, ctx))
        return ctx

    stage.__name__ = name
    return stage


def _trt(ctx: BuildContext) -> bool:
    return ctx.profile.backend == "tensorrt"


trt_check = _hook(
    "trt_check", "edgekit.trt.check", _trt,
    lambda m, ctx: {mid: m.check_model(p, ctx.profile) for mid, p in ctx.onnx.items()},
)
dla_translate = _hook(
    "dla_translate", "edgekit.trt.dla_int8",
    lambda ctx: ctx.profile.dla_int8_flavour == "dla_implicit" and "student_int8_qdq" in ctx.onnx,
    lambda m, ctx: m.translate(ctx.onnx["student_int8_qdq"], ctx.root / "models", ctx.profile),
)
trt_plan = _hook(
    "trt_plan", "edgekit.trt.plan", _trt,
    lambda m, ctx: m.write_plan(ctx.root, ctx.profile, ctx.models),
)
parity_reference = _hook(
    "parity_reference", "edgekit.parity.reference", lambda ctx: ctx.manifest is not None,
    lambda m, ctx: m.write_reference(ctx.root, ctx.manifest, ctx.torch_models),
)
bench_estimate = _hook(
    "bench_estimate", "edgekit.bench.estimate", lambda ctx: ctx.manifest is not None,
    lambda m, ctx: m.estimate(ctx.root, ctx.manifest, ctx.profile),
)
