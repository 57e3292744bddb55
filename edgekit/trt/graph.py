"""A loaded ONNX graph with inferred shapes, constants and producer/consumer maps (read-only helpers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

from edgekit.errors import InputError

Dim = int | str | None
QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})


@dataclass
class Graph:
    model: onnx.ModelProto
    path: Path | None
    opset: int
    consts: dict[str, np.ndarray]
    shapes: dict[str, list[Dim]]
    dtypes: dict[str, int]
    producer: dict[str, onnx.NodeProto] = field(default_factory=dict)
    consumers: dict[str, list[onnx.NodeProto]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    @property
    def nodes(self) -> list[onnx.NodeProto]:
        return list(self.model.graph.node)

    @property
    def input_names(self) -> list[str]:
        inits = {i.name for i in self.model.graph.initializer}
        return [i.name for i in self.model.graph.input if i.name not in inits]

    def name(self, node: onnx.NodeProto) -> str:
        return self.names[id(node)]

    def shape(self, tensor: str) -> list[Dim] | None:
        return self.shapes.get(tensor)

    def const(self, tensor: str) -> np.ndarray | None:
        """The value of an initializer or a Constant output; None if not constant."""
        return self.consts.get(tensor)

    def is_const(self, tensor: str) -> bool:
        if tensor in self.consts:
            return True
        p = self.producer.get(tensor)
        return p is not None and p.op_type in QDQ_OPS and self.is_const(p.input[0])


def attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for a in node.attribute:
        if a.name == name:
            v = onnx.helper.get_attribute_value(a)
            return v.decode() if isinstance(v, bytes) else v
    return default


def _dims(t: onnx.TypeProto) -> list[Dim] | None:
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    out: list[Dim] = []
    for d in t.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def from_model(model: onnx.ModelProto, path: Path | None = None) -> Graph:
    """Run ONNX shape inference and index the graph."""
    try:
        inferred = shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception:  # shape inference is best effort: keep what the model declares
        inferred = model
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    shapes: dict[str, list[Dim]] = {}
    dtypes: dict[str, int] = {}
    vis = list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
    for vi in vis:
        d = _dims(vi.type)
        if d is not None:
            shapes[vi.name] = d
        dtypes[vi.name] = vi.type.tensor_type.elem_type
    for name, arr in consts.items():
        shapes.setdefault(name, list(arr.shape))
    g = Graph(model=model, path=path, opset=opset, consts=consts, shapes=shapes, dtypes=dtypes)
    for i, n in enumerate(model.graph.node):
        g.names[id(n)] = n.name or f"{n.op_type}_{i}"
        for o in n.output:
            g.producer[o] = n
        for t in n.input:
            if t:
                g.consumers.setdefault(t, []).append(n)
    return g


def load(path: str | Path) -> Graph:
    """Load and validate an ONNX file; a missing or corrupt file is an InputError (exit 2)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(
            f"ONNX model {p} does not exist", "pass the path of an .onnx file (e.g. models/*.onnx)"
        )
    try:
        model = onnx.load(str(p))
    except Exception as exc:
        raise InputError(
            f"{p} is not a readable ONNX model ({type(exc).__name__})",
            "re-export it with torch.onnx.export or edgekit build",
        ) from exc
    if not model.graph.node:
        raise InputError(f"{p} has an empty graph (corrupt or not an ONNX model)", "re-export the model")
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise InputError(f"{p} is not a valid ONNX model: {first}", "re-export the model") from exc
    return from_model(model, p)
