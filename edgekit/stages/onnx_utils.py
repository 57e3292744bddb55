"""ONNX helpers: legacy export with a dynamic batch, onnxslim, folding weight QuantizeLinear into
int8 initializers, and ONNX Runtime evaluation."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

INPUT, OUTPUT = "input", "logits"


def export_onnx(model: nn.Module, path: Path, example: torch.Tensor, opset: int,
                outputs: list[str] | None = None) -> None:
    """torch.onnx.export (TorchScript-based, dynamo=False), ``input`` -> ``outputs`` (the task's output names,
    default ``logits``), dynamic batch. Written to a temporary name and renamed."""
    outs = outputs or [OUTPUT]
    tmp = path.with_name(path.name + ".tmp")
    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (example[:1],), str(tmp), input_names=[INPUT], output_names=outs,
            dynamic_axes={INPUT: {0: "N"}, **{o: {0: "N"} for o in outs}}, opset_version=opset, dynamo=False,
            do_constant_folding=True,
        )
    _inline_identity_initializers(tmp)
    os.replace(tmp, path)


def _inline_identity_initializers(path: Path) -> None:
    """The exporter shares equal constants (e.g. the zero biases of freshly folded BatchNorms) through
    ``Identity(initializer)`` nodes; ORT's static quantizer needs a Conv's bias to be an initializer itself
    (it crashed on them). Each such Identity becomes a copy of its initializer."""
    m = onnx.load(str(path))
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    ident = [n for n in g.node if n.op_type == "Identity" and n.input[0] in inits
             and n.output[0] not in {o.name for o in g.output}]
    if not ident:
        return
    for n in ident:
        t = onnx.TensorProto()
        t.CopyFrom(inits[n.input[0]])
        t.name = n.output[0]
        g.initializer.append(t)
        g.node.remove(n)
    onnx.save(m, str(path))


def slim(path: Path) -> None:
    """onnxslim in place (keeps Q/DQ models bit-identical; removes redundant nodes)."""
    import onnxslim

    model = onnxslim.slim(str(path))
    if model is None:  # pragma: no cover - onnxslim returns None only when given an output path
        return
    save(model, path)


def save(model: onnx.ModelProto, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, path)


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    vals = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            vals[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return vals


def fold_weight_quantize(model: onnx.ModelProto) -> int:
    """Replace ``QuantizeLinear(constant float weight)`` by its int8 result as an initializer, so the
    weights are stored as int8 and only DequantizeLinear remains (4x smaller, same numbers in ORT).
    Returns how many were folded."""
    g = model.graph
    consts = _constants(g)
    init_names = {i.name for i in g.initializer}
    folded = 0
    remove = []
    for node in g.node:
        if node.op_type != "QuantizeLinear" or node.input[0] not in init_names:
            continue
        w = consts[node.input[0]].astype(np.float32)
        scale = consts[node.input[1]].astype(np.float32)
        zp = consts[node.input[2]] if len(node.input) > 2 and node.input[2] else np.zeros((), np.int8)
        if zp.dtype != np.int8:
            continue  # only the symmetric INT8 (TensorRT) flavour
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if scale.ndim == 1 and scale.size > 1:
            shape = [1] * w.ndim
            shape[axis] = -1
            scale = scale.reshape(shape)
            zp = zp.reshape(shape)
        q = np.clip(np.rint(w / scale) + zp.astype(np.float32), -128, 127).astype(np.int8)
        name = node.output[0]  # keep the tensor name: its consumers (DequantizeLinear) are unchanged
        g.initializer.append(numpy_helper.from_array(q, name))
        remove.append(node)
        folded += 1
    for node in remove:
        g.node.remove(node)
    used = {i for n in g.node for i in n.input}
    for init in list(g.initializer):
        if init.name not in used and init.name not in {o.name for o in g.output}:
            g.initializer.remove(init)
    return folded


def ort_session(path: Path):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = min(2, os.cpu_count() or 1)
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def ort_logits(path: Path, x: np.ndarray, bs: int = 250) -> np.ndarray:
    sess = ort_session(path)
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i : i + bs]})[0] for i in range(0, len(x), bs)])


def ort_accuracy(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    return float((ort_logits(path, x).argmax(1) == y).mean())


@contextlib.contextmanager
def quiet_root_logger(level: int = logging.ERROR) -> Iterator[None]:
    """onnxruntime.quantization logs advice through the root logger on every call; keep build output clean."""
    root = logging.getLogger()
    old = root.level
    root.setLevel(level)
    try:
        yield
    finally:
        root.setLevel(old)
