"""Q/DQ validity for TensorRT explicit quantization.

Source: onnx-tensorrt operators.md (QuantizeLinear/DequantizeLinear: zero point must be 0, INT8; FP8/INT4
from TensorRT 9/10), TensorRT Developer Guide "Explicit Quantization" (per-channel scales only on weights,
along the output-channel axis; activations per-tensor), shared/reference/quantization.md.
"""

from __future__ import annotations

import numpy as np
import onnx

from edgekit.trt.findings import Finding
from edgekit.trt.graph import Graph, attr

SRC = "onnx-tensorrt operators.md (Q/DQ rows); TensorRT Developer Guide, Explicit Quantization"
INT8, UINT8, INT32, FP8E4M3, INT4 = 3, 2, 6, 17, 22
_TYPE_NAMES = {3: "INT8", 2: "UINT8", 6: "INT32", 17: "FLOAT8E4M3FN", 22: "INT4", 4: "UINT16", 5: "INT16"}


def _weight_axis(g: Graph, consumer: onnx.NodeProto, rank: int) -> int | None:
    op = consumer.op_type
    if op == "Conv":
        return 0
    if op == "ConvTranspose":
        return 1
    if op == "Gemm":
        return 0 if int(attr(consumer, "transB", 0)) else 1
    if op == "MatMul":
        return rank - 1
    return None


def _quant_type(g: Graph, n: onnx.NodeProto) -> int | None:
    if len(n.input) > 2 and n.input[2]:
        zp = g.const(n.input[2])
        if zp is not None:
            return int(onnx.helper.np_dtype_to_tensor_dtype(zp.dtype))
    if n.op_type == "DequantizeLinear":
        c = g.const(n.input[0])
        if c is not None:
            return int(onnx.helper.np_dtype_to_tensor_dtype(c.dtype))
        return g.dtypes.get(n.input[0])
    return UINT8 if n.op_type == "QuantizeLinear" else None  # ONNX default zero-point type is uint8


def check_qdq(g: Graph, trt_version: tuple[int, ...]) -> list[Finding]:
    out: list[Finding] = []
    allowed = {INT8} if trt_version[0] < 9 else {INT8, FP8E4M3, INT4}
    for n in g.nodes:
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        name = g.name(n)

        def f(sev: str, rule: str, msg: str, fix: str, n: onnx.NodeProto = n, name: str = name) -> None:
            out.append(Finding(sev, rule, name, n.op_type, msg, fix, SRC))  # type: ignore[arg-type]

        qt = _quant_type(g, n)
        if qt is not None and qt not in allowed:
            tname = _TYPE_NAMES.get(qt, str(qt))
            hint = (
                "keep the bias in float (TensorRT quantizes it itself)"
                if qt == INT32
                else "quantize symmetrically to INT8 (activation_type=QInt8, ActivationSymmetric=True)"
            )
            f(
                "error",
                "qdq.type",
                f"{n.op_type} uses {tname}; TensorRT "
                f"{'.'.join(map(str, trt_version[:2]))} accepts only "
                f"{'/'.join(_TYPE_NAMES[a] for a in sorted(allowed))}",
                hint,
            )
        zp = g.const(n.input[2]) if len(n.input) > 2 and n.input[2] else None
        if zp is not None and np.any(zp != 0):
            f(
                "error",
                "qdq.zero_point",
                f"zero point is {zp.reshape(-1)[:4].tolist()} (TensorRT needs 0)",
                "export symmetric quantization (zero point 0)",
            )
        scale = g.const(n.input[1])
        if scale is None:
            f(
                "error",
                "qdq.scale_const",
                "scale is not a constant",
                "bake the scales into initializers before export",
            )
            continue
        if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
            f(
                "error",
                "qdq.scale_positive",
                "scale has zero, negative or non-finite values",
                "recalibrate: every scale must be > 0",
            )
        if scale.size <= 1:
            continue
        on_weight = g.is_const(n.input[0])
        if not on_weight:
            f(
                "error",
                "qdq.activation_per_tensor",
                f"per-channel ({scale.size} scales) quantization of an activation",
                "quantize activations per-tensor (one scale)",
            )
            continue
        axis = int(attr(n, "axis", 1))
        rank = len(g.shape(n.input[0]) or [])
        if axis < 0:
            axis += rank
        out_t = n.output[0]
        cons = g.consumers.get(out_t, [])
        if n.op_type == "QuantizeLinear":  # weight Q -> DQ -> consumer
            cons = [c for d in cons for c in g.consumers.get(d.output[0], [])]
        for c in cons:
            want = _weight_axis(g, c, rank)
            if want is not None and axis != want:
                f(
                    "error",
                    "qdq.weight_axis",
                    f"per-channel weight scales on axis {axis}; {c.op_type} needs the "
                    f"output-channel axis {want}",
                    f"quantize the weights per output channel (axis={want})",
                )
    return out
