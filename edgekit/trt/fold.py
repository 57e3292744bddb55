"""Fold the constant and shape subgraphs of an ONNX graph, as TensorRT does at build time for static shapes.

A network whose padding is computed inside the graph (Shape -> Gather -> ... -> Pad) exports with shape
arithmetic that a checker would otherwise judge as dynamic-shape layers. TensorRT folds such subgraphs when
the input shapes are static; ``edgekit check`` therefore folds first (onnxslim's constant folding and shape
inference, plus one fusion: a constant zero Pad into the following Conv's pads, which is how such padding
reaches TensorRT's convolution (onnxslim FusionPadConv; that TensorRT itself fuses it is unconfirmed here).
Surviving nodes keep their names. It then judges, reporting what it folded and what it fused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import onnx

SHAPE_OPS = {"Shape", "Size"}


@dataclass
class FoldResult:
    model: onnx.ModelProto
    folded: list[str] = field(default_factory=list)  # names of the original nodes that folding removed
    fused: list[str] = field(default_factory=list)  # Pad nodes merged into the following Conv
    ops: dict[str, int] = field(default_factory=dict)  # op type -> count of removed nodes
    skipped: str = ""  # why nothing was folded, when that is the case


def _names(model: onnx.ModelProto) -> list[str]:
    return [n.name or f"{n.op_type}_{i}" for i, n in enumerate(model.graph.node)]


def needs_folding(model: onnx.ModelProto) -> bool:
    """True when the graph has shape nodes or nodes whose inputs are all constants (foldable work)."""
    const = {t.name for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type in SHAPE_OPS:
            return True
        ins = [i for i in n.input if i]
        if (
            n.op_type != "Constant"
            and ins
            and all(i in const for i in ins)
            and n.op_type not in ("DequantizeLinear", "QuantizeLinear")
        ):
            return True
        if n.op_type == "Constant":
            const.update(n.output)
    return False


def fold(model: onnx.ModelProto) -> FoldResult:
    """The graph with its constant/shape subgraphs folded, and which nodes went. Node names are made unique
    first (an unnamed node gets its positional ``Op_i`` name) so the report can name them."""
    if not needs_folding(model):
        return FoldResult(model, skipped="no shape or constant-only nodes")
    import onnxslim

    m = onnx.ModelProto()
    m.CopyFrom(model)
    before = _names(m)
    for n, name in zip(m.graph.node, before, strict=True):
        n.name = name
    from onnxslim.core.pattern.registry import DEFAULT_FUSION_PATTERNS

    skip = [k for k in DEFAULT_FUSION_PATTERNS if k != "FusionPadConv"]
    try:
        out = onnxslim.slim(
            m, skip_optimizations=["subexpression_elimination", "weight_tying"], skip_fusion_patterns=skip
        )
    except Exception as exc:  # onnxslim is a third party's code: judge the raw graph and say why
        return FoldResult(model, skipped=f"onnxslim failed: {type(exc).__name__}: {exc}")
    if out is None:
        return FoldResult(model, skipped="onnxslim returned nothing")
    after = set(_names(out))
    ops: dict[str, int] = {}
    folded: list[str] = []
    fused: list[str] = []
    for n in m.graph.node:
        if n.name not in after:
            ops[n.op_type] = ops.get(n.op_type, 0) + 1
            (fused if n.op_type == "Pad" else folded).append(n.name)
    return FoldResult(out, folded, fused, ops)
