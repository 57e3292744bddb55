"""``check_model``: a static check of an ONNX model against a device profile's TensorRT and DLA.

Used by ``edgekit check`` and by the build orchestrator before it writes a TensorRT plan.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
from rich.table import Table

from edgekit.errors import ConfigError
from edgekit.profiles import DeviceProfile, get_profile
from edgekit.trt import ops
from edgekit.trt.dla_rules import DOC as DLA_DOC
from edgekit.trt.dla_rules import Verdict, dla_verdict, rule_source
from edgekit.trt.findings import Finding
from edgekit.trt.graph import QDQ_OPS, Graph, attr, load
from edgekit.trt.qdq_rules import check_qdq

Precision = Literal["fp32", "fp16", "int8"]
_NOT_LAYERS = QDQ_OPS | {"Identity", "Dropout", "Constant"}


@dataclass(frozen=True)
class LayerVerdict:
    node: str
    op: str
    where: str  # "dla" | "gpu" | "cannot" | "gpu-only" (no DLA in this build)
    rule: str
    reason: str
    source: str = ""  # where the rule comes from, for this DLA generation (dla_rules.rule_source)


@dataclass
class CheckReport:
    model: str
    device: str
    tensorrt: str
    precision: str
    use_dla: bool
    dla_generation: int | None
    opset: int
    findings: list[Finding] = field(default_factory=list)
    layers: list[LayerVerdict] = field(default_factory=list)
    transitions: int = 0
    folded: list[str] = field(default_factory=list)  # nodes constant/shape folding removed before judging
    fused: list[str] = field(default_factory=list)  # Pad nodes merged into the following Conv before judging

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def infos(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "info"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        c = {"dla": 0, "gpu": 0, "cannot": 0, "gpu-only": 0}
        for lv in self.layers:
            c[lv.where] += 1
        return c

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "device": self.device,
            "tensorrt": self.tensorrt,
            "precision": self.precision,
            "use_dla": self.use_dla,
            "dla_generation": self.dla_generation,
            "opset": self.opset,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "layer_counts": self.counts(),
            "transitions": self.transitions,
            "folded": list(self.folded),
            "fused": list(self.fused),
            "findings": [f.to_dict() for f in self.findings],
            "layers": [asdict(lv) for lv in self.layers],
        }

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        """For manifest.extra (the build's hooks serialise results through model_dump)."""
        return self.to_dict()

    def rich_table(self) -> Table:
        """Findings (errors first) then, for DLA builds, the per-layer placement."""
        t = Table(
            title=f"edgekit check: {Path(self.model).name} on {self.device} (TensorRT {self.tensorrt}, "
            f"{self.precision}{', DLA' if self.use_dla else ''})",
            caption=f"{len(self.errors)} error(s), {len(self.warnings)} warning(s); layers "
            + ", ".join(f"{k} {v}" for k, v in self.counts().items() if v)
            + (f"; {self.transitions} GPU<->DLA transition(s)" if self.use_dla else ""),
        )
        for col in ("severity", "node", "op", "rule", "message", "fix"):
            t.add_column(col, overflow="fold")
        colour = {"error": "red", "warning": "yellow", "info": "cyan"}
        order = {"error": 0, "warning": 1, "info": 2}
        for f in sorted(self.findings, key=lambda f: order[f.severity]):
            t.add_row(f"[{colour[f.severity]}]{f.severity}[/]", f.node, f.op, f.rule, f.message, f.fix)
        if self.use_dla:
            for lv in self.layers:
                if lv.where == "dla":
                    t.add_row("[green]dla[/]", lv.node, lv.op, lv.rule, lv.reason, "")
        return t


def _layers(g: Graph) -> list[onnx.NodeProto]:
    """Nodes that become TensorRT layers: not Q/DQ/Identity, not folded constant or shape arithmetic."""
    static = set(g.consts)
    layers = []
    for n in g.nodes:
        ins = [t for t in n.input if t]
        if n.op_type == "Shape" or (ins and all(t in static for t in ins)) or n.op_type == "Constant":
            static.update(n.output)
            continue
        if n.op_type in _NOT_LAYERS:
            continue
        layers.append(n)
    return layers


def _source_layer(g: Graph, tensor: str, layer_ids: set[int]) -> onnx.NodeProto | None:
    p = g.producer.get(tensor)
    while p is not None and id(p) not in layer_ids:
        if not p.input or p.op_type not in _NOT_LAYERS:
            return None
        p = g.producer.get(p.input[0])
    return p


def _transitions(g: Graph, layers: list[onnx.NodeProto], where: dict[int, str]) -> int:
    ids = {id(n) for n in layers}
    crossings: set[tuple[str, str]] = set()
    for n in layers:
        for t in n.input:
            src = _source_layer(g, t, ids) if t else None
            if (
                src is not None
                and where[id(src)] != where[id(n)]
                and "cannot" not in (where[id(src)], where[id(n)])
            ):
                crossings.add((src.output[0], where[id(n)]))
    return len(crossings)


def _model_findings(g: Graph, prof: DeviceProfile, ver: tuple[int, ...]) -> list[Finding]:
    out: list[Finding] = []
    ceiling = min(prof.onnx_opset_max, ops.opset_ceiling(ver))
    if g.opset > ceiling:
        out.append(
            Finding(
                "error",
                "trt.opset",
                "(model)",
                "",
                f"ONNX opset {g.opset} is newer than TensorRT "
                f"{prof.tensorrt.version if prof.tensorrt else '?'} parses (max {ceiling})",
                f"re-export with opset_version={ceiling}",
                ops.SOURCE,
            )
        )
    bad = ops.unsupported_ops(ver)
    for n in g.nodes:
        if n.domain not in ("", "ai.onnx"):
            out.append(
                Finding(
                    "error",
                    "trt.custom_domain",
                    g.name(n),
                    n.op_type,
                    f"operator from domain '{n.domain}' needs a TensorRT plugin",
                    "export with standard ONNX operators only",
                    ops.SOURCE,
                )
            )
        elif n.op_type in bad:
            out.append(
                Finding(
                    "error",
                    "trt.unsupported_op",
                    g.name(n),
                    n.op_type,
                    f"TensorRT {'.'.join(map(str, ver[:2]))}'s ONNX parser has no {n.op_type}",
                    "replace the operator in the model (or target a newer JetPack)",
                    ops.SOURCE,
                )
            )
        elif n.op_type == "Resize" and attr(n, "mode", "nearest") not in ("nearest", "linear"):
            out.append(
                Finding(
                    "error",
                    "trt.resize_mode",
                    g.name(n),
                    n.op_type,
                    f"Resize mode '{attr(n, 'mode')}' (TensorRT: nearest or linear)",
                    "use nearest or linear interpolation",
                    ops.SOURCE,
                )
            )
        elif n.op_type == "TopK" and ver[0] < 10 and len(n.input) > 1 and not g.is_const(n.input[1]):
            out.append(
                Finding(
                    "error",
                    "trt.topk_k",
                    g.name(n),
                    n.op_type,
                    "TopK's K is not a constant",
                    "make K an initializer",
                    ops.SOURCE,
                )
            )
    if ver[0] < 9:
        out.extend(_int64_findings(g))
    return out


def _int64_findings(g: Graph) -> list[Finding]:
    out: list[Finding] = []
    lim = np.iinfo(np.int32)
    slice_params = {t for n in g.nodes if n.op_type == "Slice" for t in n.input[1:]}
    in_range = 0
    for init in g.model.graph.initializer:
        if init.data_type not in (ops.INT64, ops.DOUBLE):
            continue
        arr = g.consts[init.name]
        if init.data_type == ops.DOUBLE:
            out.append(
                Finding(
                    "warning",
                    "trt.double",
                    init.name,
                    "initializer",
                    "DOUBLE weights are cast to FLOAT by TensorRT 8.x",
                    "export float32 weights",
                    ops.SOURCE,
                )
            )
        elif arr.size and (arr.max() > lim.max or arr.min() < lim.min) and init.name not in slice_params:
            out.append(
                Finding(
                    "error",
                    "trt.int64_range",
                    init.name,
                    "initializer",
                    f"INT64 weights outside the INT32 range: TensorRT 8.x clamps them "
                    f"(max |value| {int(np.abs(arr).max())})",
                    "store these values as INT32 (or float) in range",
                    ops.SOURCE,
                )
            )
        else:
            in_range += 1
    if in_range:
        out.append(
            Finding(
                "info",
                "trt.int64_cast",
                "(model)",
                "",
                f"{in_range} INT64 initializer(s) will be cast "
                "to INT32 by TensorRT 8.x (values in range: harmless)",
                "none needed",
                ops.SOURCE,
            )
        )
    for i in g.model.graph.input:
        if i.type.tensor_type.elem_type == ops.INT64 and i.name in g.input_names:
            out.append(
                Finding(
                    "warning",
                    "trt.int64_input",
                    i.name,
                    "input",
                    "INT64 network input: TensorRT 8.x casts it to INT32",
                    "make the input int32 or float",
                    ops.SOURCE,
                )
            )
    return out


def _resolve(
    profile: DeviceProfile | str, precision: str | None, use_dla: bool | None
) -> tuple[DeviceProfile, bool]:
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if prof.tensorrt is None:
        raise ConfigError(
            f"device '{prof.name}' has no TensorRT (backend {prof.backend})",
            "edgekit check targets Jetson profiles: pass --device jetson-...",
        )
    if precision is None:
        return prof, bool(use_dla)
    if precision not in ("fp32", "fp16", "int8"):
        raise ConfigError(f"unknown precision '{precision}'", "use fp32, fp16 or int8")
    if precision not in prof.precisions:
        raise ConfigError(
            f"device '{prof.name}' does not support {precision}", f"use one of {', '.join(prof.precisions)}"
        )
    dla = prof.has_dla if use_dla is None else use_dla
    if dla and not prof.has_dla:
        raise ConfigError(
            f"device '{prof.name}' has no DLA", "drop --dla, or pick a Xavier/Orin NX/AGX Orin profile"
        )
    return prof, dla


def check_graph(
    g: Graph,
    profile: DeviceProfile | str,
    precision: str | None = None,
    use_dla: bool | None = None,
    model_name: str = "",
) -> CheckReport:
    """``precision`` None: int8 for a Q/DQ model when the device has INT8, else fp16 where supported, else
    fp32. ``use_dla`` None: the profile's DLA, except for a Q/DQ INT8 model (that one is the GPU's; the
    DLA gets its translated, Q/DQ-free form)."""
    has_qdq = any(n.op_type in QDQ_OPS for n in g.nodes)
    prof, _ = _resolve(profile, None, None)
    if precision is None:
        precision = "int8" if has_qdq and "int8" in prof.precisions else "fp16"
        precision = precision if precision in prof.precisions else "fp32"
    qdq_for_gpu = use_dla is None and prof.has_dla and precision == "int8" and has_qdq
    if use_dla is None:
        use_dla = prof.has_dla and not qdq_for_gpu
    prof, dla = _resolve(prof, precision, use_dla)
    assert prof.tensorrt is not None
    ver = prof.tensorrt.version_tuple
    gen = prof.dla.generation if prof.dla else None
    rep = CheckReport(
        model=model_name or str(g.path or "model.onnx"),
        device=prof.name,
        tensorrt=prof.tensorrt.version,
        precision=precision,
        use_dla=dla,
        dla_generation=gen if dla else None,
        opset=g.opset,
    )
    rep.findings.extend(_model_findings(g, prof, ver))
    if has_qdq:
        rep.findings.extend(check_qdq(g, ver))
    if qdq_for_gpu:
        rep.findings.append(
            Finding(
                "info",
                "dla.qdq_gpu_only",
                "(model)",
                "",
                "checked for the GPU: a Q/DQ model cannot run INT8 on the DLA as is",
                "for the DLA, translate it (edgekit.trt.dla_int8) and check the _noqdq.onnx with --dla",
                DLA_DOC,
            )
        )
    bad_ops = ops.unsupported_ops(ver)
    if dla and precision == "fp32":
        rep.findings.append(
            Finding(
                "error",
                "dla.precision",
                "(model)",
                "",
                "the DLA runs FP16 or INT8 only",
                "build with --precision fp16 or int8",
                DLA_DOC,
            )
        )
    if dla and precision == "int8" and has_qdq:
        rep.findings.append(
            Finding(
                "error",
                "dla.qdq",
                "(model)",
                "",
                "Q/DQ (explicit INT8) models are rejected by the DLA through "
                'TensorRT 10.x ("... is not supported on DLA")',
                "translate with edgekit.trt.dla_int8.translate (Q/DQ-free ONNX + calibration cache); "
                "edgekit build "
                "does this for dla_implicit profiles",
                DLA_DOC,
            )
        )
    if precision == "int8" and not has_qdq and not dla:
        rep.findings.append(
            Finding(
                "warning",
                "trt.int8_no_qdq",
                "(model)",
                "",
                "INT8 requested but the model has no Q/DQ nodes",
                "export the QAT model, or supply a calibration cache",
                ops.SOURCE,
            )
        )
    if dla:
        for inp in g.model.graph.input:
            s = g.shape(inp.name) or []
            if inp.name in g.input_names and s and not isinstance(s[0], int):
                rep.findings.append(
                    Finding(
                        "warning",
                        "dla.dynamic_batch",
                        inp.name,
                        "input",
                        f"input {inp.name} has a dynamic batch '{s[0]}'",
                        "build with a fixed-shape profile (min = opt = max); the plan does",
                        DLA_DOC,
                    )
                )
    layers = _layers(g)
    where: dict[int, str] = {}
    for n in layers:
        if n.op_type in bad_ops or n.domain not in ("", "ai.onnx"):
            v = Verdict("cannot", "trt.unsupported_op", f"{n.op_type} cannot be parsed by this TensorRT")
        elif not dla:
            v = Verdict("gpu-only", "gpu", "GPU build")
        elif precision == "fp32":
            v = Verdict("gpu", "dla.precision", "DLA runs FP16/INT8 only")
        else:
            v = dla_verdict(g, n, gen or 1, precision, ver[0])
        where[id(n)] = v.where
        src = rule_source(v.rule, gen or 1) if dla else ""
        rep.layers.append(LayerVerdict(g.name(n), n.op_type, v.where, v.rule, v.reason, src))
        if dla and v.where == "gpu" and v.rule != "dla.precision":
            rep.findings.append(
                Finding(
                    "warning",
                    v.rule,
                    g.name(n),
                    n.op_type,
                    f"falls back to the GPU: {v.reason}",
                    v.fix,
                    src or DLA_DOC,
                )
            )
        elif v.where == "cannot" and v.rule != "trt.unsupported_op":
            rep.findings.append(Finding("error", v.rule, g.name(n), n.op_type, v.reason, v.fix, DLA_DOC))
    if dla:
        rep.transitions = _transitions(g, layers, where)
        if rep.transitions:
            rep.findings.append(
                Finding(
                    "info",
                    "dla.transitions",
                    "(model)",
                    "",
                    f"{rep.transitions} GPU<->DLA transition(s); each costs a reformat",
                    "move GPU-only layers to the start or end of the network",
                    DLA_DOC,
                )
            )
        n_dla = sum(1 for lv in rep.layers if lv.where == "dla")
        if layers and n_dla == 0:
            rep.findings.append(
                Finding(
                    "warning",
                    "dla.none",
                    "(model)",
                    "",
                    "no layer runs on the DLA",
                    "build for the GPU instead",
                    DLA_DOC,
                )
            )
    return rep


def check_model(
    onnx_path: str | Path,
    profile: DeviceProfile | str,
    precision: str | None = None,
    use_dla: bool | None = None,
    fold_first: bool = True,
) -> CheckReport:
    """Check ``onnx_path`` for ``profile`` (a DeviceProfile or its name) at ``precision`` ("int8", "fp16",
    "fp32"; None = automatic, see check_graph), on the DLA when ``use_dla`` (None = automatic).
    Raises EdgekitError (exit 2) on bad input; never builds anything. With ``fold_first`` (default) the
    constant and shape subgraphs are folded first (edgekit.trt.fold): the graph TensorRT will see is judged,
    and ``report.folded`` names the nodes that went."""
    _resolve(profile, precision, use_dla)  # bad device/precision before reading a large model
    g = load(onnx_path)
    folded: list[str] = []
    fused: list[str] = []
    if fold_first:
        from edgekit.trt.fold import fold
        from edgekit.trt.graph import from_model

        res = fold(g.model)
        if res.folded or res.fused:
            g = from_model(res.model, g.path)
            folded, fused = res.folded, res.fused
    rep = check_graph(g, profile, precision, use_dla, model_name=str(onnx_path))
    rep.folded, rep.fused = folded, fused
    if fused:
        rep.findings.append(
            Finding(
                "info",
                "trt.pad_fused",
                "(model)",
                "",
                f"fused {len(fused)} constant zero Pad node(s) into the following Conv's padding "
                f"(onnxslim FusionPadConv; TensorRT doing the same is unconfirmed): "
                + ", ".join(fused[:8]) + (" ..." if len(fused) > 8 else ""),
                "write the padding into the Conv (padding=...) to be sure",
                ops.SOURCE,
            )
        )
    if folded:
        shown = ", ".join(folded[:8]) + (f", ... ({len(folded)} in all)" if len(folded) > 8 else "")
        rep.findings.append(
            Finding(
                "info",
                "trt.folded",
                "(model)",
                "",
                f"folded {len(folded)} constant/shape node(s) before judging, as TensorRT does for static "
                f"shapes: {shown}",
                "export with do_constant_folding=True, or run onnxslim, to ship the folded graph",
                ops.SOURCE,
            )
        )
    return rep
