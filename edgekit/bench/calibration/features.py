"""Per-layer features the calibrated estimate works on: for each engine layer its kind, the unit it runs on,
MACs and bytes moved; plus the GPU<->DLA hand-overs (reformats) with the bytes they copy.

Kinds: ``conv`` (dense, kernel > 1), ``conv1x1``, ``dwconv`` (depthwise: one input channel per group),
``fc`` (Gemm/MatMul), ``pool`` (Max/Average/Global pooling), ``eltwise`` (everything else that is a layer:
a residual Add that cannot be fused, Concat, a standalone BatchNorm/ReLU, normalisation, Pad, ...).
Layers come from :func:`edgekit.bench.macs.count_model`; DLA placement from :func:`edgekit.trt.check`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import onnx

from edgekit.bench.macs import count_model
from edgekit.profiles import DeviceProfile

KINDS = ("conv", "conv1x1", "dwconv", "fc", "pool", "eltwise")
_POOL = {
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "QLinearAveragePool",
    "QLinearGlobalAveragePool",
}
_CONV = {"Conv", "ConvInteger", "QLinearConv", "ConvTranspose"}


@dataclass
class Features:
    """What the calibrated model needs of one engine: layers as [kind, unit, macs, bytes], and the
    hand-overs between units as bytes copied (network input/output reformats included for DLA runs)."""

    layers: list[tuple[str, str, int, int]]
    handovers: list[int] = field(default_factory=list)
    placement_source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "layers": [list(x) for x in self.layers],
            "handovers": list(self.handovers),
            "placement_source": self.placement_source,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Features:
        return cls(
            [(str(a), str(b), int(c), int(e)) for a, b, c, e in d["layers"]],
            [int(x) for x in d["handovers"]],
            str(d.get("placement_source", "")),
        )

    def summary(self) -> dict[str, Any]:
        return asdict(self) | {
            "macs": sum(x[2] for x in self.layers),
            "bytes": sum(x[3] for x in self.layers),
        }


def _kind(node: onnx.NodeProto | None, inits: dict[str, list[int]]) -> str:
    if node is None:
        return "eltwise"
    op = node.op_type
    if op in _POOL:
        return "pool"
    if op in ("Gemm", "MatMul", "QGemm", "MatMulInteger", "QLinearMatMul"):
        return "fc"
    if op in _CONV:
        w = inits.get(node.input[3 if op == "QLinearConv" else 1], [])
        group = next((int(a.i) for a in node.attribute if a.name == "group"), 1)
        k = next((list(a.ints) for a in node.attribute if a.name == "kernel_shape"), list(w[2:]))
        cin_per_group = w[1] if len(w) > 1 and op != "ConvTranspose" else 0
        if group > 1 and cin_per_group == 1:
            return "dwconv"
        return "conv1x1" if k and all(x == 1 for x in k) else "conv"
    return "eltwise"


def extract(
    onnx_path: str | Path,
    batch: int,
    precision: str,
    unit: str,
    profile: DeviceProfile | None = None,
    placement: dict[str, str] | None = None,
    io_reformat: bool = True,
    gpu_ops: tuple[str, ...] = (),
) -> Features:
    """Features of ``onnx_path`` at ``batch``/``precision`` on ``unit`` ("gpu", "dla" or "cpu"). For the DLA,
    ``placement`` (node -> "DLA"/"GPU") or else ``edgekit.trt.check`` on ``profile`` decides each layer."""
    model = onnx.load(str(onnx_path))
    dtype_prec = "fp16" if unit == "dla" and precision == "fp32" else precision
    cost = count_model(model, batch=batch, precision=dtype_prec)
    nodes = {(n.name or f"{n.op_type}_{i}"): n for i, n in enumerate(model.graph.node)}
    inits = {t.name: list(t.dims) for t in model.graph.initializer}
    src = ""
    if unit == "dla" and placement is None:
        from edgekit.bench.roofline import normalize_placement
        from edgekit.trt.check import check_model

        if profile is None:
            raise ValueError("a DLA feature extraction needs the profile (for the DLA rules)")
        rep = check_model(onnx_path, profile, precision=dtype_prec, use_dla=True)
        placement = normalize_placement(rep.layers)
        src = f"edgekit.trt.check (DLA v{profile.dla.generation if profile.dla else '?'})"
    elif placement is not None:
        src = "given"
    if unit == "dla" and gpu_ops and placement is not None:
        placement = dict(placement)
        for name, node in nodes.items():
            if node.op_type in gpu_ops:
                placement[name] = "GPU"
        src += f"; {', '.join(gpu_ops)} on the GPU as in the published build log"
    layers: list[tuple[str, str, int, int]] = []
    handovers: list[int] = []
    prev = None
    for lc in cost.layers:
        where = unit
        if unit == "dla" and placement is not None:
            where = "dla" if placement.get((lc.nodes or [lc.name])[0], "DLA") == "DLA" else "gpu"
        if prev is not None and where != prev[0]:
            handovers.append(prev[1])
        layers.append(
            (_kind(nodes.get((lc.nodes or [lc.name])[0]), inits), where, int(lc.macs), int(lc.bytes))
        )
        prev = (where, int(lc.out_bytes))
    if unit == "dla" and io_reformat and cost.layers:
        if layers[0][1] == "dla":
            handovers.append(int(cost.layers[0].in_bytes))
        if layers[-1][1] == "dla":
            handovers.append(int(cost.layers[-1].out_bytes))
    return Features(layers, handovers, src)
