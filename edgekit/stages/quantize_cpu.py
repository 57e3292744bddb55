"""Stage `quantize_cpu`: the ONNX Runtime CPU INT8 model (QLinearConv), from the QAT-adapted FP32
weights (the fake-quant student with its quantizers off, BN folded), calibrated on training images
preprocessed through the spec. quantize_static: QOperator, per-channel int8 weights, uint8 activations.
The node that produces the logits stays FP32: a uint8 logits output saturates on inputs whose logits
exceed the calibration range (MobileNetV2, 20 ImageNet photos: 13/20 top-1 with it, 17/20 without)."""

from __future__ import annotations

import time

import numpy as np

from edgekit.stages import fakequant as fq
from edgekit.stages.common import _task, example_input
from edgekit.stages.context import BuildContext
from edgekit.stages.export import _eval_record, add_model
from edgekit.stages.onnx_utils import INPUT, export_onnx, quiet_root_logger


def quantize_cpu_stage(ctx: BuildContext) -> BuildContext:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    assert ctx.qmodel is not None and ctx.x_calib is not None and ctx.work is not None
    t0 = time.perf_counter()
    fp32 = ctx.work / "student_qat_fp32.onnx"
    fq.set_enabled(ctx.qmodel, False)
    try:
        export_onnx(ctx.qmodel, fp32, example_input(ctx), ctx.opset, _task(ctx).output_names())
    finally:
        fq.set_enabled(ctx.qmodel, True)
    calib = ctx.x_calib

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(range(0, len(calib), 16))

        def get_next(self) -> dict[str, np.ndarray] | None:
            i = next(self._it, None)
            return None if i is None else {INPUT: calib[i : i + 16]}

    import onnx

    proto = onnx.load(str(fp32))
    outs = {o.name for o in proto.graph.output}
    keep_float = [n.name for n in proto.graph.node if n.name and set(n.output) & outs]
    model_id = "student_int8_cpu"
    path = ctx.root / "models" / f"{model_id}.onnx"
    tmp = path.with_name(path.name + ".tmp.onnx")
    with quiet_root_logger():
        quantize_static(
            str(fp32), str(tmp), Reader(), quant_format=QuantFormat.QOperator, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=keep_float,
        )
    tmp.replace(path)
    acc = _eval_record(ctx, "quantize_cpu", model_id, path, ctx.student or ctx.qmodel, t0)
    add_model(ctx, model_id, path, "int8", "student", "ort_cpu", acc)
    return ctx
