"""Stage `dla_verify` (after ``golden``): the DLA translation proven on the golden set, re-inserting
per-tensor fake quantization from the cache and comparing with the Q/DQ model in ONNX Runtime
(top-1 agreement ≥ 99 %)."""

from __future__ import annotations

from edgekit.errors import ConfigError
from edgekit.stages.common import _task
from edgekit.stages.context import BuildContext
from edgekit.stages.results import DLA_MODEL_ID, _jsonable, _results


def dla_verify(ctx: BuildContext) -> BuildContext:
    if DLA_MODEL_ID not in ctx.onnx:
        return ctx
    import numpy as np

    from edgekit.preprocess import run as run_preprocess
    from edgekit.trt.dla_int8 import verify_translation

    assert ctx.dla_cache is not None
    x = np.concatenate([run_preprocess(ctx.example.spec, ctx.root / g.input)[0] for g in ctx.golden])
    task = _task(ctx)
    labels = list(ctx.example.labels)
    res = verify_translation(ctx.onnx["student_int8_qdq"], ctx.onnx[DLA_MODEL_ID], ctx.dla_cache, x,
                             agreement=lambda ref, got: task.output_agreement(ref, got, labels))
    _results(ctx)["dla_verify"] = _jsonable(res)
    ctx.reporter.log(f"DLA INT8 translation vs Q/DQ model on {res['n']} golden images ({res['compared']} "
                     f"items compared): agreement {res['agreement']:.1%}, max |d| {res['max_abs_diff']:.3g}")
    if res["compared"] == 0:
        raise ConfigError(
            "the DLA INT8 translation check compared zero items on the golden set (the Q/DQ model gives no "
            f"{task.name} output to compare there)",
            "train longer, or give data.golden images the model responds to (GPU INT8 meanwhile)",
        )
    if not res["passed"]:
        raise ConfigError(
            f"the DLA INT8 translation agrees with the Q/DQ model on only {res['agreement']:.1%} of the "
            f"golden set's {res['compared']} items (need ≥ {res['min_agreement']:.0%})",
            "report this with the bundle's models; build the GPU INT8 engine meanwhile",
        )
    return ctx
