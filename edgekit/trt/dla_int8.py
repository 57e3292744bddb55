"""QAT -> DLA INT8 for TensorRT <= 10.x (``dla_implicit`` profiles: Xavier on JetPack 5, Orin on JetPack 6).

The DLA rejects Q/DQ (explicit) INT8; it wants implicit quantization: a Q/DQ-free ONNX plus per-tensor
scales in a calibration cache. NVIDIA's qdq-translator (Deep-Learning-Accelerator-SW) does this but needs
JetPack 6; this module does the same on any host, for any TensorRT version tag:

- activation Q->DQ pairs are removed; the quantized tensor's scale goes to the cache (scale = amax/127);
- weight DQ (int8 initializer, or Q->DQ on a float initializer) is folded into float weights that sit
  exactly on the QAT grid (TensorRT re-derives per-channel weight scales from them);
- scales are carried across scale-preserving ops (Relu, MaxPool, Reshape, Flatten, Transpose,
  Squeeze/Unsqueeze; optionally Concat and AveragePool) in both directions;
- layers whose activations all have scales run INT8; the rest are listed as fp16 for
  ``trtexec --layerPrecisions`` (and in a JSON file for the Python builder).

``verify_translation`` proves it on the CPU: fake quantization is re-inserted from the cache into the
Q/DQ-free model (per-tensor activations, per-channel max weights as TensorRT's implicit mode does) and
compared with the original Q/DQ model in ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from edgekit.errors import InputError
from edgekit.io import atomic_write_json, atomic_write_text, atomic_write_with
from edgekit.profiles import DeviceProfile
from edgekit.trt.calib_cache import CalibCache, check_tensors, read
from edgekit.trt.graph import attr

PRESERVING = {"Relu", "MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity"}
OPTIONAL_PRESERVING = {"Concat", "AveragePool", "GlobalAveragePool"}
# An average's range is inside its input's, not the other way round: carrying the output scale back to
# the input would clip it. These propagate forward only.
FORWARD_ONLY = {"AveragePool", "GlobalAveragePool"}
_WEIGHTED = {"Conv": 0, "ConvTranspose": 1, "Gemm": 0, "MatMul": 1}
FUSABLE = {"Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "BatchNormalization", "Add", "Sum"}
_SHAPE_ONLY = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Shape", "Constant"}


@dataclass
class Translation:
    noqdq_onnx: Path
    cache: Path
    precision_json: Path
    layer_arg: Path
    layer_precisions: str
    scales: dict[str, float]
    int8_layers: list[str] = field(default_factory=list)
    fp16_layers: list[str] = field(default_factory=list)
    # read both through Q/DQ and directly in the QAT model: implicit INT8 (one range per tensor) quantizes
    # them for every reader, the main source of differences from the Q/DQ model (e.g. residual adds)
    requantized: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "noqdq_onnx": str(self.noqdq_onnx),
            "cache": str(self.cache),
            "precision_json": str(self.precision_json),
            "layer_arg": str(self.layer_arg),
            "layer_precisions": self.layer_precisions,
            "tensors_with_scales": len(self.scales),
            "int8_layers": self.int8_layers,
            "fp16_layers": self.fp16_layers,
            "requantized": self.requantized,
        }

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        """For manifest.extra (the build's hooks serialise results through model_dump): file names only,
        since the build writes into a staging folder that is renamed afterwards."""
        d = self.to_dict()
        for k in ("noqdq_onnx", "cache", "precision_json", "layer_arg"):
            d[k] = Path(d[k]).name
        return d


def _const_map(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    c = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            c[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return c


def _bcast(v: np.ndarray, axis: int, rank: int) -> np.ndarray:
    if v.size <= 1:
        return v.reshape(())
    shape = [1] * rank
    shape[axis] = v.size
    return v.reshape(shape)


def _dequant(q: np.ndarray, scale: np.ndarray, zp: np.ndarray | None, axis: int) -> np.ndarray:
    axis = axis + q.ndim if axis < 0 else axis
    z = np.zeros(()) if zp is None else _bcast(zp.astype(np.float64), axis, q.ndim)
    return ((q.astype(np.float64) - z) * _bcast(scale.astype(np.float64), axis, q.ndim)).astype(np.float32)


def _quant(x: np.ndarray, scale: np.ndarray, zp: np.ndarray | None, axis: int) -> np.ndarray:
    axis = axis + x.ndim if axis < 0 else axis
    lo, hi = (-128, 127) if zp is None or zp.dtype == np.int8 else (0, 255)
    z = np.zeros(()) if zp is None else _bcast(zp.astype(np.float64), axis, x.ndim)
    return np.clip(np.rint(x / _bcast(scale.astype(np.float64), axis, x.ndim)) + z, lo, hi)


def strip_qdq(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, float]]:
    """Return a Q/DQ-free copy of ``model`` and the per-tensor activation scales it carried."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    consts = _const_map(m)
    producer = {o: n for n in g.node for o in n.output}
    outputs = {o.name for o in g.output}
    scales: dict[str, float] = {}
    rename: dict[str, str] = {}
    drop: set[int] = set()
    new_inits: list[onnx.TensorProto] = []
    extra_nodes: list[onnx.NodeProto] = []
    for n in g.node:
        if n.op_type != "DequantizeLinear":
            continue
        scale = consts.get(n.input[1])
        zp = consts.get(n.input[2]) if len(n.input) > 2 and n.input[2] else None
        if scale is None:
            raise InputError(
                f"DequantizeLinear {n.name or n.output[0]} has a non-constant scale",
                "bake the QAT scales into initializers before export",
            )
        axis = int(attr(n, "axis", 1))
        src = n.input[0]
        drop.add(id(n))
        if src in consts:  # weight: int8 initializer -> DQ
            new_inits.append(numpy_helper.from_array(_dequant(consts[src], scale, zp, axis), n.output[0]))
            continue
        q = producer.get(src)
        if q is None or q.op_type != "QuantizeLinear":
            raise InputError(
                f"DequantizeLinear {n.name or n.output[0]} is not fed by a QuantizeLinear",
                "export Q->DQ pairs (TensorRT explicit quantization form)",
            )
        drop.add(id(q))
        x = q.input[0]
        if x in consts:  # weight: float initializer -> Q -> DQ: snap to the QAT grid
            w = _dequant(_quant(consts[x], scale, zp, axis), scale, zp, axis)
            new_inits.append(numpy_helper.from_array(w, n.output[0]))
            continue
        if scale.size != 1:
            raise InputError(f"activation {x} is quantized per-channel", "quantize activations per-tensor")
        if zp is not None and np.any(zp != 0):
            raise InputError(f"activation {x} has a non-zero zero point", "export symmetric quantization")
        s = float(scale.reshape(-1)[0])
        scales[x] = max(scales.get(x, 0.0), s)
        if n.output[0] in outputs:
            extra_nodes.append(
                helper.make_node("Identity", [x], [n.output[0]], name=f"{n.output[0]}_identity")
            )
            scales[n.output[0]] = s
        else:
            rename[n.output[0]] = x
    kept = [n for n in g.node if id(n) not in drop]
    for n in kept:
        for i, t in enumerate(n.input):
            if t in rename:
                n.input[i] = rename[t]
    del g.node[:]
    g.node.extend(kept + extra_nodes)
    g.initializer.extend(new_inits)
    used = {t for n in g.node for t in n.input} | outputs
    keep_inits = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep_inits)
    for i, n in enumerate(g.node):
        if not n.name:
            n.name = f"{n.op_type}_{i}"
    del g.value_info[:]
    return m, scales


def requantized_tensors(model: onnx.ModelProto) -> list[str]:
    """Activations that the Q/DQ model quantizes for some readers and not for others."""
    readers: dict[str, list[str]] = {}
    for n in model.graph.node:
        for i, t in enumerate(n.input):
            if t and not (n.op_type in ("QuantizeLinear", "DequantizeLinear") and i > 0):
                readers.setdefault(t, []).append(n.op_type)
    return sorted(
        t for t, ops in readers.items() if "QuantizeLinear" in ops and any(o != "QuantizeLinear" for o in ops)
    )


def propagate(
    model: onnx.ModelProto, scales: dict[str, float], optional_ops: bool = True
) -> dict[str, float]:
    """Carry scales across scale-preserving ops, forward and backward (averages: forward only), until
    nothing changes."""
    ops = PRESERVING | (OPTIONAL_PRESERVING if optional_ops else set())
    consts = _const_map(model)
    out = dict(scales)
    changed = True
    while changed:
        changed = False
        for n in model.graph.node:
            if n.op_type not in ops:
                continue
            ins = [t for t in n.input if t and t not in consts]
            if not ins or not n.output:
                continue
            y = n.output[0]
            if n.op_type == "Concat":
                known = [out[t] for t in ins if t in out]
                if y not in out and len(known) == len(ins) and max(known) == min(known):
                    out[y], changed = known[0], True
                elif y in out:
                    for t in ins:
                        if t not in out:
                            out[t], changed = out[y], True
                continue
            x = ins[0]
            if x in out and y not in out:
                out[y], changed = out[x], True
            elif y in out and x not in out and n.op_type not in FORWARD_ONLY:
                out[x], changed = out[y], True
    return out


def fused_tensors(model: onnx.ModelProto) -> set[str]:
    """Outputs of Conv/Gemm/MatMul that TensorRT fuses into their single consumer (an activation, a
    BatchNormalization or a residual Add): the tensor disappears, so it needs no INT8 scale."""
    producer = {o: n for n in model.graph.node for o in n.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in model.graph.node:
        for t in n.input:
            consumers.setdefault(t, []).append(n)
    outputs = {o.name for o in model.graph.output}
    fused = set()
    for t, p in producer.items():
        c = consumers.get(t, [])
        if p.op_type in _WEIGHTED and len(c) == 1 and c[0].op_type in FUSABLE and t not in outputs:
            fused.add(t)
    return fused


def _layer_precisions(model: onnx.ModelProto, scales: dict[str, float]) -> tuple[list[str], list[str]]:
    """A layer runs INT8 when every activation it reads and writes has a scale (fused intermediates
    excepted); otherwise it is listed for FP16."""
    consts = _const_map(model)
    fused = fused_tensors(model)
    int8: list[str] = []
    fp16: list[str] = []
    for n in model.graph.node:
        if n.op_type in _SHAPE_ONLY:
            continue
        acts = [t for t in list(n.input) + list(n.output) if t and t not in consts and t not in fused]
        (int8 if acts and all(t in scales for t in acts) else fp16).append(n.name)
    return int8, fp16


def _save_model(model: onnx.ModelProto, path: Path) -> None:
    atomic_write_with(path, lambda tmp: onnx.save(model, str(tmp)), ".onnx")


def translate(
    qdq_onnx: str | Path, out_dir: str | Path, profile_or_tag: DeviceProfile | str, optional_ops: bool = True
) -> Translation:
    """Write ``<stem>_noqdq.onnx``, ``<stem>_calib.cache``, ``<stem>_precision.json`` and
    ``<stem>_layer_arg.txt`` into ``out_dir``. ``profile_or_tag``: the device profile (its
    ``tensorrt.cache_tag`` heads the cache) or the tag itself, e.g. "8502"."""
    if isinstance(profile_or_tag, str):
        cache_tag = profile_or_tag
    elif profile_or_tag.tensorrt is not None:
        cache_tag = profile_or_tag.tensorrt.cache_tag
    else:
        raise InputError(
            f"device '{profile_or_tag.name}' has no TensorRT", "translate for a Jetson DLA profile"
        )
    src = Path(qdq_onnx)
    if not src.is_file():
        raise InputError(f"Q/DQ model {src} does not exist", "pass the QAT ONNX export")
    try:
        model = onnx.load(str(src))
    except Exception as exc:
        raise InputError(f"{src} is not a readable ONNX model", "re-export the QAT model") from exc
    if not any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node):
        raise InputError(f"{src} has no Q/DQ nodes", "pass the QAT (Q/DQ) export, not the FP32 model")
    stripped, scales = strip_qdq(model)
    scales = propagate(stripped, scales, optional_ops)
    int8, fp16 = _layer_precisions(stripped, scales)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = src.stem
    noqdq = out / f"{stem}_noqdq.onnx"
    _save_model(stripped, noqdq)
    cache = CalibCache(cache_tag, {k: scales[k] for k in sorted(scales)}).write(out / f"{stem}_calib.cache")
    layer_arg = ",".join(f"{name}:fp16" for name in fp16)
    pj = out / f"{stem}_precision.json"
    atomic_write_json(
        pj,
        {
            "int8_tensor_scales": {k: scales[k] for k in sorted(scales)},
            "fp16_nodes": fp16,
            "int8_nodes": int8,
            "layer_precisions": layer_arg,
        },
    )
    la = out / f"{stem}_layer_arg.txt"
    atomic_write_text(la, layer_arg)
    return Translation(noqdq, cache, pj, la, layer_arg, scales, int8, fp16, requantized_tensors(model))


def model_tensors(m: onnx.ModelProto) -> set[str]:
    """Tensors a calibration cache may name: graph inputs, node outputs and initializers (a cache that names
    a weight is odd but names a tensor the model has)."""
    return ({i.name for i in m.graph.input} | {o for n in m.graph.node for o in n.output if o}
            | {i.name for i in m.graph.initializer})


def fake_quant_model(noqdq: onnx.ModelProto, cache: CalibCache) -> onnx.ModelProto:
    """Re-insert per-tensor Q/DQ for every cached tensor; quantize INT8 layers' weights per output channel
    with max calibration (what TensorRT's implicit INT8 does with weights); FP16 layers keep float weights."""
    m = onnx.ModelProto()
    m.CopyFrom(noqdq)
    g = m.graph
    consts = _const_map(m)
    inits = {i.name: i for i in g.initializer}
    int8_layers = set(_layer_precisions(m, cache.scales)[0])
    for n in g.node:
        if n.op_type in _WEIGHTED and n.name in int8_layers and len(n.input) > 1 and n.input[1] in inits:
            w = consts[n.input[1]].astype(np.float32)
            axis = _WEIGHTED[n.op_type]
            if n.op_type == "Gemm" and not int(attr(n, "transB", 0)):
                axis = 1
            red = tuple(i for i in range(w.ndim) if i != axis)
            s = np.maximum(np.abs(w).max(axis=red, keepdims=True), 1e-12) / 127.0
            inits[n.input[1]].CopyFrom(
                numpy_helper.from_array(
                    (np.clip(np.rint(w / s), -127, 127) * s).astype(np.float32), n.input[1]
                )
            )
    outputs = {o.name for o in g.output}
    new_nodes: list[onnx.NodeProto] = []
    rename: dict[str, str] = {}
    produced = {o for n in g.node for o in n.output} | {i.name for i in g.input}
    for t, s in cache.scales.items():
        if t not in produced or t in inits:
            continue
        sn, zn = f"{t}__fq_scale", f"{t}__fq_zp"
        g.initializer.extend(
            [
                numpy_helper.from_array(np.array(s, np.float32), sn),
                numpy_helper.from_array(np.array(0, np.int8), zn),
            ]
        )
        q, dq = f"{t}__fq_q", f"{t}__fq_dq"
        new_nodes += [
            helper.make_node("QuantizeLinear", [t, sn, zn], [q], name=q),
            helper.make_node("DequantizeLinear", [q, sn, zn], [dq], name=dq),
        ]
        rename[t] = dq
    for n in g.node:
        for i, t in enumerate(n.input):
            if t in rename:
                n.input[i] = rename[t]
    for o in g.output:
        if o.name in rename:  # graph output itself quantized: keep the name, feed it from the DQ
            new_nodes.append(helper.make_node("Identity", [rename[o.name]], [o.name + "__fq_out"]))
            o.name = o.name + "__fq_out"
    del outputs
    g.node.extend(new_nodes)
    nodes = _toposort(list(g.node), {i.name for i in g.input} | set(inits) | {i.name for i in g.initializer})
    del g.node[:]
    g.node.extend(nodes)
    return m


def _toposort(nodes: list[onnx.NodeProto], available: set[str]) -> list[onnx.NodeProto]:
    have = set(available)
    done: list[onnx.NodeProto] = []
    pending = list(nodes)
    while pending:
        rest = []
        for n in pending:
            if all((not t) or t in have for t in n.input):
                done.append(n)
                have.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise InputError("the translated graph has a cycle or a dangling input", "report this model")
        pending = rest
    return done


def _run(model: onnx.ModelProto | str, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    data = model if isinstance(model, str) else model.SerializeToString()
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    batch_dim = sess.get_inputs()[0].shape[0]
    if isinstance(batch_dim, int):
        return np.concatenate(
            [sess.run(None, {name: x[i : i + batch_dim]})[0] for i in range(0, len(x), batch_dim)]
        )
    return np.asarray(sess.run(None, {name: x})[0])


def verify_translation(
    qdq_onnx: str | Path,
    noqdq_onnx: str | Path,
    cache: CalibCache | str | Path,
    inputs: np.ndarray,
    min_agreement: float = 0.99,
    agreement: Callable[[np.ndarray, np.ndarray], tuple[float, int]] | None = None,
) -> dict[str, Any]:
    """Compare the original Q/DQ model with the Q/DQ-free model + cache (fake-quantized) on ``inputs``
    (a preprocessed batch, N first). ``passed`` is agreement >= ``min_agreement`` over at least one compared
    item: ``agreement(ref, got) -> (fraction, items compared)`` (the task's, edgekit/project/task.py; default
    top-1 agreement over the batch)."""
    c = cache if isinstance(cache, CalibCache) else read(cache)
    noqdq = onnx.load(str(noqdq_onnx))
    check_tensors(c, model_tensors(noqdq), f"calibration cache for {Path(noqdq_onnx).name}")
    fq = fake_quant_model(noqdq, c)
    x = np.ascontiguousarray(inputs, dtype=np.float32)
    ref = _run(str(qdq_onnx), x)
    got = _run(fq, x)
    if agreement is None:
        agree, compared = float((ref.argmax(-1) == got.argmax(-1)).mean()), int(len(x))
    else:
        agree, compared = agreement(ref, got)
    diff = np.abs(ref - got)
    return {
        "n": int(len(x)),
        "compared": int(compared),
        "top1_agreement": agree,  # the classification name, kept; "agreement" is the task's figure
        "agreement": agree,
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "logit_range": float(ref.max() - ref.min()),
        "tensors_with_scales": len(c.scales),
        "min_agreement": min_agreement,
        "passed": compared > 0 and agree >= min_agreement,
    }
