"""Per-layer DLA verdicts: runs on the DLA, falls back to the GPU, or cannot run at all.

Source of every limit: TensorRT Developer Guide, "DLA Supported Layers and Restrictions" (TensorRT 8.5 for
Xavier / DLA v1, 8.6 and 10.x for Orin / DLA v2), the IConvolutionLayer / IPoolingLayer API notes, and
device_configs/README.md. Rule ids (``dla.conv.kernel`` ...) are stable: tests key on them.

Assumptions at ONNX-node granularity (stated in the report):
- Q/DQ, Identity, Dropout, Constant and shape-only nodes are not layers.
- Flatten/Reshape/Squeeze feeding only a Gemm/MatMul with constant weights is absorbed into that FC layer.
- Gemm, or MatMul with a constant 2D right operand, is a fully connected layer (TensorRT lowers it to a
  1x1 convolution for the DLA).
- GlobalAveragePool/GlobalMaxPool become a pooling layer over H x W (window limit applies); onnx-tensorrt
  versions that lower them to Reduce would put them on the GPU (unconfirmed which do).
- A standalone Shuffle (Reshape/Transpose/Flatten not feeding an FC) and Pad are assumed to run on the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import onnx

from edgekit.trt.graph import Graph, attr

Where = Literal["dla", "gpu", "cannot", "gpu-only"]
DOC = "TensorRT Developer Guide: DLA Supported Layers and Restrictions"


@dataclass(frozen=True)
class Verdict:
    where: Where
    rule: str
    reason: str
    fix: str = ""


OK = "dla.ok"
_ACTIVATIONS = {"Relu", "Sigmoid", "Tanh", "Clip", "LeakyRelu"}
_ELTWISE = {"Add", "Mul", "Sub", "Max", "Min", "Sum"}
_ELTWISE_NEW = {"Div", "Pow"}
_SHUFFLE = {"Flatten", "Reshape", "Squeeze", "Unsqueeze"}
_FC = {"Gemm", "MatMul"}


def _ints(v: object, n: int, default: int) -> list[int]:
    if v is None:
        return [default] * n
    return [int(x) for x in v]  # type: ignore[attr-defined]


def _gpu(rule: str, reason: str, fix: str) -> Verdict:
    return Verdict("gpu", rule, reason, fix)


def _rank4(g: Graph, tensor: str, rule: str, what: str) -> Verdict | None:
    s = g.shape(tensor)
    if s is not None and len(s) != 4:
        return _gpu(rule, f"{what} on DLA needs a 4D (NCHW) input; this one is {len(s)}D", "reshape to NCHW")
    return None


def _dims_ok(g: Graph, node: onnx.NodeProto) -> Verdict | None:
    """General restrictions: static non-batch dims, each at most 8192, batch at most 4096."""
    for t in node.input[:1]:  # the input; output channel counts have their own per-layer rules
        s = g.shape(t)
        if not s or g.is_const(t):
            continue
        for axis, d in enumerate(s):
            if axis > 0 and not isinstance(d, int):
                return _gpu(
                    "dla.dynamic_shape",
                    f"tensor {t} has a dynamic dimension {d!r} (axis {axis})",
                    "export with fixed input sizes; the DLA needs min = opt = max shapes",
                )
            if axis > 0 and isinstance(d, int) and d > 8192:
                return _gpu("dla.dim_limit", f"tensor {t} has a dimension {d} > 8192", "tile the input")
            if axis == 0 and isinstance(d, int) and d > 4096:
                return _gpu("dla.batch_limit", f"batch {d} > 4096", "use a smaller batch")
    return None


# Where each generation-dependent rule comes from (shown in reports; tests key on the rule ids).
RULE_SOURCES = {
    "dla.conv.int8_group_size": (
        "TensorRT API IConvolutionLayer::setNbGroups: 'When using groups in int8 mode, the size of "
        "the groups "
        "... must be a multiple of 4 for both input and output'; DLA v1 (Xavier, TRT 8.5 guide 'DLA "
        "Supported "
        "Layers and Restrictions'): depthwise INT8 on the DLA not confirmed, kept on the GPU (unconfirmed)"
    ),
    "dla.conv.int8_depthwise_v2": (
        "NVIDIA/Deep-Learning-Accelerator-SW README, 'Accuracy on DLA and GPU': INT8 SSD-MobileNetV1 "
        "(depthwise convolutions) runs on Orin's DLA with only NMS on the GPU; TRT 8.6/10.x guide "
        "'DLA Supported Layers and Restrictions' lists grouped convolution without a group-size limit"
    ),
}


GUIDE = {
    1: "TensorRT 8.5 Developer Guide, 'DLA Supported Layers and Restrictions' (Xavier, DLA v1; JetPack 5.1)",
    2: "TensorRT 8.6 / 10.x Developer Guide, 'DLA Supported Layers and Restrictions' (Orin, DLA v2; "
    "docs.nvidia.com/deeplearning/tensorrt/latest/inference-library/dla-layer-restrictions.html)",
}


def rule_source(rule: str, gen: int) -> str:
    """Where rule ``rule`` comes from for DLA generation ``gen``: its own citation, else the guide version."""
    own = RULE_SOURCES.get(rule)
    base = GUIDE.get(gen, DOC)
    if not rule.startswith("dla."):
        return own or "onnx-tensorrt operator support / TensorRT API documentation"
    return f"{own}; {base}" if own else base


def _conv(g: Graph, n: onnx.NodeProto, precision: str, gen: int = 1) -> Verdict:
    if (v := _rank4(g, n.input[0], "dla.conv.rank", "Convolution")) is not None:
        return v
    if not g.is_const(n.input[1]):
        return _gpu(
            "dla.conv.weights", "convolution weights are not constant", "fold the weights into an initializer"
        )
    wshape = g.shape(n.input[1]) or []
    k = _ints(attr(n, "kernel_shape"), 2, 1) if attr(n, "kernel_shape") else [int(x) for x in wshape[2:]]  # type: ignore[arg-type]
    strides = _ints(attr(n, "strides"), len(k), 1)
    dil = _ints(attr(n, "dilations"), len(k), 1)
    pads = _ints(attr(n, "pads"), 2 * len(k), 0)
    groups = int(attr(n, "group", 1))
    if any(not 1 <= x <= 32 for x in k):
        return _gpu("dla.conv.kernel", f"kernel {k} outside 1-32", "split the kernel or use smaller kernels")
    if any(not 1 <= s <= 8 for s in strides):
        return _gpu("dla.conv.stride", f"stride {strides} outside 1-8", "use stride <= 8")
    if any(not 0 <= p <= 31 for p in pads):
        return _gpu(
            "dla.conv.padding", f"padding {pads} outside 0-31", "pad less (or with an explicit Pad on GPU)"
        )
    if any(p >= k[i % len(k)] for i, p in enumerate(pads)):
        return _gpu(
            "dla.conv.padding", f"padding {pads} not smaller than kernel {k}", "use padding < kernel size"
        )
    if any(not 1 <= d <= 32 for d in dil):
        return _gpu("dla.conv.dilation", f"dilation {dil} outside 1-32", "use dilation <= 32")
    cout = int(wshape[0]) if wshape and isinstance(wshape[0], int) else 0
    if n.op_type == "Conv" and not 1 <= cout <= 8192:
        return _gpu("dla.conv.output_maps", f"{cout} output maps outside 1-8192", "split the layer")
    # groups <= 8192 follows from output maps <= 8192 (output maps are a multiple of groups).
    if precision == "int8" and groups > 1 and n.op_type == "Conv":
        in_shape = g.shape(n.input[0]) or []
        cin = in_shape[1] if len(in_shape) > 1 and isinstance(in_shape[1], int) else int(wshape[1]) * groups  # type: ignore[arg-type]
        depthwise = cin == groups and cout % groups == 0
        if depthwise and gen >= 2:
            return Verdict(
                "dla", "dla.conv.int8_depthwise_v2",
                "INT8 depthwise convolution on DLA v2 (source: "
                "" + RULE_SOURCES["dla.conv.int8_depthwise_v2"] + ")",
            )
        if (cin // groups) % 4 or (cout // groups) % 4:
            return _gpu(
                "dla.conv.int8_group_size",
                f"INT8 grouped conv with {groups} groups: {cin // groups} in / {cout // groups} out "
                "channels per group, not multiples of 4 (IConvolutionLayer INT8 rule"
                + ("; depthwise INT8 on DLA v1 (Xavier): unconfirmed, kept on the "
                    "GPU)" if depthwise else ")"),
                "round channels per group to a multiple of 4 (prune with round_to=4) or run FP16",
            )
    return Verdict("dla", OK, "convolution within DLA limits")


def _deconv(g: Graph, n: onnx.NodeProto, precision: str) -> Verdict:
    if (v := _rank4(g, n.input[0], "dla.deconv.rank", "Deconvolution")) is not None:
        return v
    wshape = g.shape(n.input[1]) or []
    k = _ints(attr(n, "kernel_shape"), 2, 1) if attr(n, "kernel_shape") else [int(x) for x in wshape[2:]]  # type: ignore[arg-type]
    if any(not 1 <= x <= 32 for x in k) and not (k[0] == 1 and k[-1] in (64, 96, 128)):
        return _gpu("dla.deconv.kernel", f"kernel {k} outside 1-32", "use kernels <= 32")
    if any(_ints(attr(n, "pads"), 4, 0)):
        return _gpu(
            "dla.deconv.padding", "deconvolution padding must be 0 on DLA", "crop after the deconvolution"
        )
    if int(attr(n, "group", 1)) != 1:
        return _gpu("dla.deconv.groups", "grouped deconvolution is not supported on DLA", "use groups = 1")
    if any(d != 1 for d in _ints(attr(n, "dilations"), 2, 1)):
        return _gpu("dla.deconv.dilation", "dilated deconvolution is not supported on DLA", "use dilation 1")
    return Verdict("dla", OK, "deconvolution within DLA limits")


def _pool(g: Graph, n: onnx.NodeProto, gen: int) -> Verdict:
    if (v := _rank4(g, n.input[0], "dla.pool.rank", "Pooling")) is not None:
        return v
    if n.op_type.startswith("Global"):
        s = g.shape(n.input[0]) or []
        k = [d for d in s[2:] if isinstance(d, int)]
        strides, pads = [1, 1], [0, 0, 0, 0]
    else:
        k = _ints(attr(n, "kernel_shape"), 2, 1)
        strides = _ints(attr(n, "strides"), len(k), 1)
        pads = _ints(attr(n, "pads"), 2 * len(k), 0)
    if any(not 1 <= x <= 8 for x in k):
        return _gpu(
            "dla.pool.window",
            f"pooling window {k} outside 1-8",
            "use a window <= 8 (e.g. two poolings, or a strided conv)",
        )
    if any(not 1 <= s <= 16 for s in strides):
        return _gpu("dla.pool.stride", f"pooling stride {strides} outside 1-16", "use stride <= 16")
    if any(not 0 <= p <= 7 for p in pads):
        return _gpu("dla.pool.padding", f"pooling padding {pads} outside 0-7", "pad less")
    if n.op_type == "AveragePool" and gen == 1 and any(pads) and not int(attr(n, "count_include_pad", 0)):
        return _gpu(
            "dla.pool.exclusive_padding",
            "Xavier's DLA supports average pooling with inclusive padding only",
            "export with count_include_pad=1 or avoid padding",
        )
    if n.op_type == "MaxPool" and len(n.output) > 1 and n.output[1]:
        return Verdict(
            "cannot",
            "trt.maxpool.indices",
            "MaxPool Indices output is unsupported by TensorRT",
            "drop the indices output",
        )
    return Verdict("dla", OK, "pooling within DLA limits")


def _resize(g: Graph, n: onnx.NodeProto) -> Verdict:
    if (v := _rank4(g, n.input[0], "dla.resize.rank", "Resize")) is not None:
        return v
    mode = attr(n, "mode", "nearest")
    scales: list[float] | None = None
    if len(n.input) > 2 and n.input[2] and (c := g.const(n.input[2])) is not None and c.size:
        scales = [float(x) for x in c.reshape(-1)]
    elif len(n.input) > 3 and n.input[3] and (c := g.const(n.input[3])) is not None:
        ins, outs = g.shape(n.input[0]) or [], [int(x) for x in c.reshape(-1)]
        if all(isinstance(d, int) and d for d in ins) and len(ins) == len(outs):
            scales = [o / int(i) for o, i in zip(outs, ins, strict=True)]  # type: ignore[arg-type]
    if scales is None:
        return _gpu("dla.resize.scales", "resize scales are not constant", "use constant scales")
    if scales[0] != 1 or scales[1] != 1:
        return _gpu("dla.resize.scales", f"scales {scales}: N and C scales must be 1", "resize only H and W")
    limit = 32 if mode == "nearest" else 4
    if mode not in ("nearest", "linear"):
        return _gpu("dla.resize.mode", f"resize mode {mode} unsupported on DLA", "use nearest or linear")
    if any(s != int(s) or not 1 <= s <= limit for s in scales[2:]):
        return _gpu(
            "dla.resize.scales",
            f"{mode} resize needs integer scales 1-{limit}; got {scales[2:]}",
            f"use integer upsampling factors 1-{limit}",
        )
    return Verdict("dla", OK, "resize within DLA limits")


def _slice(g: Graph, n: onnx.NodeProto) -> Verdict:
    if (v := _rank4(g, n.input[0], "dla.slice.rank", "Slice")) is not None:
        return v
    params = [g.const(t) if t else None for t in n.input[1:]]
    if any(t and p is None for t, p in zip(n.input[1:], params, strict=True)):
        return _gpu("dla.slice.params", "slice parameters are not constant", "use constant starts/ends/axes")
    axes = params[2] if len(params) > 2 and params[2] is not None else np.arange(len(params[0]))  # type: ignore[arg-type]
    steps = params[3] if len(params) > 3 and params[3] is not None else None
    if steps is not None and np.any(steps != 1):
        return _gpu("dla.slice.stride", f"slice steps {steps.tolist()} (DLA needs 1)", "slice with step 1")
    if np.any((axes == 0) | (axes == -4)):
        return _gpu("dla.slice.batch", "slicing along the batch axis", "do not slice the batch on the DLA")
    return Verdict("dla", OK, "slice within DLA limits")


def _concat(g: Graph, n: onnx.NodeProto) -> Verdict:
    axis = int(attr(n, "axis", 1))
    rank = len(g.shape(n.output[0]) or [0, 0, 0, 0])
    if axis < 0:
        axis += rank
    if axis != 1:
        return _gpu(
            "dla.concat.axis",
            f"concat along axis {axis}; DLA concatenates along channels only",
            "concatenate along axis 1 (channels)",
        )
    return Verdict("dla", OK, "channel concatenation")


def _softmax(g: Graph, n: onnx.NodeProto, gen: int) -> Verdict:
    if gen == 1:
        return _gpu(
            "dla.softmax.xavier",
            "SoftMax does not run on Xavier's DLA (DLA v1)",
            "leave softmax to the post-processing (the runtime applies it)",
        )
    rank = len(g.shape(n.input[0]) or [0, 0])
    axis = int(attr(n, "axis", -1 if g.opset >= 13 else 1))
    if axis < 0:
        axis += rank
    if axis == 0:
        return _gpu("dla.softmax.axis", "SoftMax along the batch axis", "use axis C, H or W")
    return Verdict("dla", OK, "softmax on DLA v2")


def _fc(g: Graph, n: onnx.NodeProto) -> Verdict:
    if n.op_type == "Gemm" and int(attr(n, "transA", 0)):
        return _gpu(
            "dla.fc.transA", "Gemm with transA=1 is not a fully connected layer", "export without transA"
        )
    if not g.is_const(n.input[1]):
        return _gpu(
            "dla.fc.weights",
            f"{n.op_type} with two activation inputs (MatrixMultiply) has no DLA implementation",
            "use constant weights (a Linear layer)",
        )
    w = g.shape(n.input[1]) or []
    if len(w) != 2:
        return _gpu("dla.fc.weights", f"{n.op_type} weights are {len(w)}D", "use 2D weights")
    return Verdict("dla", OK, "fully connected (lowered to 1x1 convolution)")


def _feeds_fc_only(g: Graph, n: onnx.NodeProto) -> bool:
    cons = g.consumers.get(n.output[0], [])
    while len(cons) == 1 and cons[0].op_type in ("QuantizeLinear", "DequantizeLinear"):
        cons = g.consumers.get(cons[0].output[0], [])
    return bool(cons) and all(c.op_type in _FC and g.is_const(c.input[1]) for c in cons)


def dla_verdict(g: Graph, n: onnx.NodeProto, gen: int, precision: str, trt_major: int) -> Verdict:
    """Decide where one ONNX node runs when the build targets the DLA with GPU fallback."""
    op = n.op_type
    if (
        op in ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "Relu", "Clip", "Add", "Concat")
        and (v := _dims_ok(g, n)) is not None
    ):
        return v
    if op == "Conv":
        return _conv(g, n, precision, gen)
    if op == "ConvTranspose":
        return _deconv(g, n, precision)
    if op in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):
        return _pool(g, n, gen)
    if op in _ACTIVATIONS:
        return Verdict("dla", OK, f"{op} activation")
    if op == "PRelu":
        if g.is_const(n.input[1]):
            return Verdict("dla", OK, "PReLU with constant slope")
        return _gpu("dla.prelu.slope", "PReLU slope is not constant", "make the slope an initializer")
    if op == "BatchNormalization":
        return Verdict("dla", OK, "scale layer (fused into the preceding convolution)")
    if op in _ELTWISE or (op in _ELTWISE_NEW and trt_major >= 10):
        return Verdict("dla", OK, f"element-wise {op}")
    if op == "Concat":
        return _concat(g, n)
    if op == "Softmax":
        return _softmax(g, n, gen)
    if op == "Resize":
        return _resize(g, n)
    if op == "Slice":
        return _slice(g, n)
    if op == "LRN":
        size = int(attr(n, "size", 0))
        if size in (3, 5, 7, 9):
            return Verdict("dla", OK, "LRN window 3/5/7/9")
        return _gpu(
            "dla.lrn.window", f"LRN window {size} (DLA: 3, 5, 7 or 9)", "use an LRN window of 3-9 (odd)"
        )
    if op == "Abs":
        return Verdict("dla", OK, "unary Abs")
    if op in _FC:
        return _fc(g, n)
    if op in _SHUFFLE and _feeds_fc_only(g, n):
        return Verdict("dla", OK, f"{op} absorbed into the following fully connected layer")
    if op in _SHUFFLE or op == "Transpose":
        return _gpu(
            "dla.shuffle",
            f"standalone {op} (a Shuffle layer) is assumed to run on the GPU",
            "keep tensors 4D NCHW between DLA layers, or move the reshape to the end of the network",
        )
    if op in (
        "HardSwish",
        "HardSigmoid",
        "Elu",
        "Selu",
        "Softplus",
        "Softsign",
        "Gelu",
        "Erf",
        "Mish",
        "ThresholdedRelu",
        "Celu",
    ):
        return _gpu(
            "dla.activation.type",
            f"activation {op} has no DLA implementation (ReLU, Sigmoid, TanH, Clip, LeakyReLU, PReLU do)",
            "swap the activation for ReLU / ReLU6 (Clip) and fine-tune",
        )
    if op == "InstanceNormalization" or op == "GroupNormalization" or op == "LayerNormalization":
        return _gpu(
            "dla.normalization",
            f"{op} does not run on the DLA",
            "use BatchNormalization (one report: GroupNorm -> BatchNorm took 306 to 650 qps)",
        )
    return _gpu(
        "dla.unsupported_layer", f"{op} has no DLA implementation", "accept GPU fallback or replace it"
    )
