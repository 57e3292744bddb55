"""Per-layer MACs and bytes moved, read from an ONNX graph.

A *layer* is what an inference engine runs as one kernel: a compute node (Conv, Gemm, MatMul and their
quantized forms) together with the element-wise nodes that follow it and that ONNX Runtime and TensorRT
fuse into it (BatchNormalization, Relu, Clip, ...). Quantize/DequantizeLinear and pure shape nodes
(Reshape, Flatten, Squeeze, ...) cost nothing: they are fused or are metadata. Everything else (pooling,
a residual Add that cannot be fused, Softmax, Concat) is its own layer with 0 MACs and its bytes.

Bytes moved = weights + activations read + activations written, each at its element size. With
``precision`` given, every floating-point tensor counts at that precision's size (fp32 4, fp16 2,
int8 1), as the engine would store it; integer tensors (int8 weights, int32 bias) keep their own size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, shape_inference

from edgekit.errors import InputError

PRECISION_BYTES = {"fp32": 4, "fp16": 2, "int8": 1}

_CONV = {"Conv", "ConvInteger", "QLinearConv"}
_MATMUL = {"MatMul", "MatMulInteger", "QLinearMatMul"}
_COMPUTE = _CONV | _MATMUL | {"Gemm", "QGemm", "ConvTranspose"}
# fused into the compute layer before them when they are its only consumer
_FUSABLE = {
    "BatchNormalization",
    "Relu",
    "LeakyRelu",
    "Clip",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Add",
    "Mul",
    "Sub",
    "Div",
    "PRelu",
    "Elu",
    "Selu",
    "Softplus",
    "Gelu",
    "Erf",
    "QLinearAdd",
}
_FREE = {
    "QuantizeLinear",
    "DequantizeLinear",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Identity",
    "Shape",
    "Constant",
    "Cast",
    "Dropout",
    "Gather",
    "Concat_shape",
}
_FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}


@dataclass
class LayerCost:
    name: str
    op: str
    macs: int
    weight_bytes: int
    in_bytes: int
    out_bytes: int
    out_shape: list[int]
    fused: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.in_bytes + self.out_bytes

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bytes"] = self.bytes
        return d


@dataclass
class GraphCost:
    model: str
    batch: int
    precision: str | None
    layers: list[LayerCost]

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def bytes(self) -> int:
        return sum(layer.bytes for layer in self.layers)

    @property
    def weight_bytes(self) -> int:
        return sum(layer.weight_bytes for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "batch": self.batch,
            "precision": self.precision,
            "macs": self.macs,
            "bytes": self.bytes,
            "weight_bytes": self.weight_bytes,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def _attr(node: onnx.NodeProto, name: str, default: Any) -> Any:
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def conv_out_dim(size: int, k: int, stride: int, dil: int, pad_begin: int, pad_end: int) -> int:
    """Output length of one convolution/pooling axis (floor mode)."""
    return (size + pad_begin + pad_end - dil * (k - 1) - 1) // stride + 1


def conv_output_shape(node: onnx.NodeProto, x: Sequence[int], w: Sequence[int]) -> list[int]:
    """NC[D]HW output of a Conv from its attributes (strides, pads, dilations, auto_pad, group)."""
    sp = len(x) - 2
    kernel = list(_attr(node, "kernel_shape", list(w[2:])))
    strides = list(_attr(node, "strides", [1] * sp))
    dil = list(_attr(node, "dilations", [1] * sp))
    pads = list(_attr(node, "pads", [0] * (2 * sp)))
    auto = _attr(node, "auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    out = [x[0], w[0]]
    for i in range(sp):
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out.append(math.ceil(x[2 + i] / strides[i]))
        elif auto == "VALID":
            out.append(conv_out_dim(x[2 + i], kernel[i], strides[i], dil[i], 0, 0))
        else:
            out.append(conv_out_dim(x[2 + i], kernel[i], strides[i], dil[i], pads[i], pads[i + sp]))
    return out


class _Graph:
    def __init__(self, model: onnx.ModelProto, batch: int) -> None:
        g = model.graph
        self.inits = {t.name: t for t in g.initializer}
        self.consts: dict[str, TensorProto] = {}
        for n in g.node:
            if n.op_type == "Constant" and n.output:
                v = _attr(n, "value", None)
                if isinstance(v, TensorProto):
                    self.consts[n.output[0]] = v
        fixed = _fix_batch(model, batch)
        self.shapes: dict[str, list[int]] = {}
        self.types: dict[str, int] = {}
        # onnx shape inference stops at ops it has no schema for (com.microsoft QLinearAdd, ...): fill those
        # from their inputs and infer again, until nothing new is learnt
        for _ in range(64):
            inferred = shape_inference.infer_shapes(fixed, data_prop=True)
            for vi in (
                list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
            ):
                tt = vi.type.tensor_type
                if tt.elem_type:
                    self.types[vi.name] = tt.elem_type
                if tt.HasField("shape"):
                    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
                    if all(d >= 0 for d in dims) or vi.name not in self.shapes:
                        self.shapes[vi.name] = dims
            for name, t in {**self.inits, **self.consts}.items():
                self.shapes[name] = list(t.dims)
                self.types[name] = t.data_type
            added = _fill_contrib_shapes(self, fixed)
            if not added:
                break
            for name in added:
                fixed.graph.value_info.append(
                    onnx.helper.make_tensor_value_info(
                        name, self.types.get(name, TensorProto.FLOAT), self.shapes[name]
                    )
                )
        self.producer = {o: n for n in g.node for o in n.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in g.node:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.graph_outputs = {o.name for o in g.output}

    def is_const(self, name: str) -> bool:
        """An initializer, a Constant, or a free node (DQ, Cast, Identity...) applied to constants only."""
        if name in self.inits or name in self.consts:
            return True
        p = self.producer.get(name)
        if p is None or p.op_type not in _FREE | {"Transpose"}:
            return False
        return all(self.is_const(i) for i in p.input if i)

    def shape(self, name: str) -> list[int]:
        s = self.shapes.get(name)
        if s is None or any(d < 0 for d in s):
            raise InputError(
                f"cannot size tensor '{name}' (shape {s}) of the ONNX graph",
                "export with static shapes apart from the batch axis",
            )
        return s

    def nbytes(self, name: str, precision: str | None) -> int:
        """Bytes of ``name`` as the engine stores it: a DequantizeLinear output is read as its int8 input
        (TensorRT fuses the DQ into the consumer); with ``precision``, float tensors are at that size."""
        shape = self.shapes.get(name)
        if shape is None or any(d < 0 for d in shape):
            return 0
        dtype = self.types.get(name, TensorProto.FLOAT)
        p = self.producer.get(name)
        if p is not None and p.op_type == "DequantizeLinear":
            dtype = self.types.get(p.input[0], dtype)
        if dtype == TensorProto.UNDEFINED:
            dtype = TensorProto.FLOAT
        if precision is not None and dtype in _FLOAT_TYPES:
            size = PRECISION_BYTES[precision]
        else:
            size = onnx.helper.tensor_dtype_to_np_dtype(dtype).itemsize
        return int(math.prod(shape)) * size


def _known(g: _Graph, name: str) -> list[int] | None:
    s = g.shapes.get(name)
    return s if s is not None and all(d >= 0 for d in s) else None


def _fill_contrib_shapes(g: _Graph, model: onnx.ModelProto) -> list[str]:
    """Output shapes (and types) of quantized contrib ops that onnx's shape inference skips."""
    added: list[str] = []
    for n in model.graph.node:
        if not n.output or _known(g, n.output[0]) is not None:
            continue
        ins = [_known(g, i) if i else None for i in n.input]
        y: list[int] | None = None
        zp: str | None = None
        op = n.op_type
        if op == "QLinearConv" and ins[0] and ins[3]:
            y, zp = conv_output_shape(n, ins[0], ins[3]), n.input[7] if len(n.input) > 7 else None
        elif op in ("QLinearAdd", "QLinearMul") and ins[0] and len(ins) > 3 and ins[3]:
            y, zp = _broadcast(ins[0], ins[3]), n.input[7] if len(n.input) > 7 else None
        elif op == "QLinearGlobalAveragePool" and ins[0]:
            x = ins[0]
            y = (
                [x[0], *([1] * (len(x) - 2)), x[-1]]
                if _attr(n, "channels_last", 0)
                else [*x[:2], *([1] * (len(x) - 2))]
            )
            zp = n.input[4] if len(n.input) > 4 else None
        elif op == "QLinearAveragePool" and ins[0]:
            x = ins[0]
            y = conv_output_shape(n, x, [x[1], x[1], *_attr(n, "kernel_shape", [])])
            zp = n.input[4] if len(n.input) > 4 else None
        elif op in ("QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax") and ins[0]:
            y, zp = list(ins[0]), n.input[4] if len(n.input) > 4 else None
        elif op == "QLinearConcat" and len(ins) > 2:
            parts = [ins[k] for k in range(2, len(ins), 3)]
            if all(parts):
                axis = _attr(n, "axis", 1)
                y = list(parts[0])  # type: ignore[arg-type]
                y[axis] = sum(p[axis] for p in parts)  # type: ignore[index]
                zp = n.input[1]
        elif op == "QGemm" and ins[0] and len(ins) > 3 and ins[3]:
            _, y = _node_macs(g, n)
            zp = n.input[8] if len(n.input) > 8 else None
        if y:
            g.shapes[n.output[0]] = [int(d) for d in y]
            g.types[n.output[0]] = g.types.get(zp, TensorProto.UINT8) if zp else TensorProto.FLOAT
            added.append(n.output[0])
    return added


def _fix_batch(model: onnx.ModelProto, batch: int) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    init_names = {t.name for t in m.graph.initializer}
    for vi in m.graph.input:
        if vi.name in init_names:
            continue
        dims = vi.type.tensor_type.shape.dim
        for k, d in enumerate(dims):
            if not d.HasField("dim_value") or d.dim_value <= 0:
                if k != 0:
                    raise InputError(
                        f"input '{vi.name}' has a dynamic axis {k} besides the batch",
                        "export the model with a fixed input size",
                    )
                d.ClearField("dim_param")
                d.dim_value = batch
    # drop stale intermediate shapes so inference recomputes them with this batch
    del m.graph.value_info[:]
    return m


def _node_macs(g: _Graph, n: onnx.NodeProto) -> tuple[int, list[int]]:
    op = n.op_type
    if op in _CONV:
        xi, wi = (0, 3) if op == "QLinearConv" else (0, 1)
        x = g.shape(n.input[xi])
        w = g.shape(n.input[wi])
        y = conv_output_shape(n, x, w)
        # every output element: (Cin / group) x kernel multiply-adds; W is [Cout, Cin/group, k...]
        return math.prod(y) * math.prod(w[1:]), y
    if op == "ConvTranspose":
        x = g.shape(n.input[0])
        w = g.shape(n.input[1])  # [Cin, Cout/group, k...]: every input element scatters into Cout/g x k
        y = g.shape(n.output[0])
        return math.prod(x) * math.prod(w[1:]), y
    if op in ("Gemm", "QGemm"):
        a = g.shape(n.input[0])
        b = g.shape(n.input[3 if op == "QGemm" else 1])
        m_, k = (a[1], a[0]) if _attr(n, "transA", 0) else (a[0], a[1])
        n_ = b[0] if _attr(n, "transB", 0) else b[1]
        return m_ * n_ * k, [m_, n_]
    if op in _MATMUL:
        ai, bi = (0, 3) if op == "QLinearMatMul" else (0, 1)
        a = g.shape(n.input[ai])
        b = g.shape(n.input[bi])
        k = a[-1]
        if len(a) == 1:
            a = [1, *a]
        if len(b) == 1:
            b = [*b, 1]
        batch_dims = _broadcast(a[:-2], b[:-2])
        y = [*batch_dims, a[-2], b[-1]]
        return math.prod(y) * k, y
    return 0, g.shapes.get(n.output[0], []) if n.output else []


def _broadcast(a: Sequence[int], b: Sequence[int]) -> list[int]:
    n = max(len(a), len(b))
    a = [1] * (n - len(a)) + list(a)
    b = [1] * (n - len(b)) + list(b)
    return [max(x, y) for x, y in zip(a, b, strict=False)]


def count_model(
    model: onnx.ModelProto | str | Path, batch: int = 1, precision: str | None = None
) -> GraphCost:
    """Per-layer MACs and bytes of ``model`` at ``batch`` (see the module doc for what a layer is)."""
    if precision is not None and precision not in PRECISION_BYTES:
        raise InputError(f"unknown precision '{precision}'", f"use one of {list(PRECISION_BYTES)}")
    name = "model"
    if not isinstance(model, onnx.ModelProto):
        p = Path(model)
        if not p.is_file():
            raise InputError(f"ONNX model {p} does not exist", "pass the path of an .onnx file")
        try:
            name = p.name
            model = onnx.load(str(p))
        except Exception as exc:  # protobuf DecodeError and the like
            raise InputError(f"{p} is not a readable ONNX model: {exc}", "re-export the model") from exc
    g = _Graph(model, batch)
    layers: list[LayerCost] = []
    owner: dict[str, LayerCost] = {}  # tensor -> the layer whose output it is (for fusion)
    for idx, n in enumerate(model.graph.node):
        nm = n.name or f"{n.op_type}_{idx}"
        if n.op_type in _FREE or (n.op_type == "Transpose" and all(g.is_const(i) for i in n.input)):
            # pass ownership through free nodes so Conv -> DQ/Q -> Relu still fuses
            if n.input and n.input[0] in owner and n.output:
                owner[n.output[0]] = owner[n.input[0]]
            continue
        acts = [i for i in n.input if i and not g.is_const(i)]
        weights = [i for i in n.input if i and g.is_const(i)]
        # fuse into the layer that produced one of the inputs, if this node is that tensor's only reader
        # (Conv -> BN -> Relu; Conv -> Add(skip, conv) as TensorRT and ORT do)
        into = next(
            (a for a in acts if a in owner and len(g.consumers.get(a, [])) == 1 and a not in g.graph_outputs),
            None,
        )
        if n.op_type in _FUSABLE and into is not None:
            prev = owner[into]
            prev.fused.append(n.op_type)
            prev.nodes.append(nm)
            prev.weight_bytes += sum(g.nbytes(w, precision) for w in weights)
            prev.in_bytes += sum(g.nbytes(a, precision) for a in acts if a != into)  # e.g. an Add's skip
            prev.out_bytes = sum(g.nbytes(o, precision) for o in n.output if o)
            prev.out_shape = g.shapes.get(n.output[0], prev.out_shape)
            owner[n.output[0]] = prev
            continue
        macs, y = _node_macs(g, n)
        if n.output and n.output[0] not in g.shapes and y:
            g.shapes[n.output[0]] = list(y)  # e.g. com.microsoft ops that shape inference skips
            if n.op_type == "QGemm" and len(n.input) > 8:
                g.types[n.output[0]] = g.types.get(n.input[8], TensorProto.UINT8)  # its y_zero_point
        layer = LayerCost(
            name=nm,
            op=n.op_type,
            macs=int(macs),
            weight_bytes=sum(g.nbytes(w, precision) for w in weights),
            in_bytes=sum(g.nbytes(a, precision) for a in acts),
            out_bytes=sum(g.nbytes(o, precision) for o in n.output if o),
            out_shape=[int(d) for d in y],
            nodes=[nm],
        )
        layers.append(layer)
        if n.op_type in _COMPUTE or n.op_type in _FUSABLE:
            for o in n.output:
                owner[o] = layer
    return GraphCost(model=name, batch=batch, precision=precision, layers=layers)
