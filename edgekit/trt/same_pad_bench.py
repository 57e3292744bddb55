"""Benchmark: ``edgekit check`` on the raw and on the folded export of a network with in-graph padding.

    python -m edgekit.trt.same_pad_bench [--json out.json]

The network is a stack of TF-"same"-padding convolutions written in torch: each block computes its padding
from the input's shape (``x.shape[-2:]``), so the legacy exporter writes Shape -> Gather -> arithmetic -> Pad
subgraphs. Prints, for the raw graph (no folding) and the folded one, the layer counts on DLA/GPU, the
dynamic-shape fallbacks and the number of nodes folded.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


class SameConv(nn.Module):
    """Conv2d with TensorFlow 'SAME' padding computed from the input shape at run time."""

    def __init__(self, cin: int, cout: int, k: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, 0)
        self.bn = nn.BatchNorm2d(cout)
        self.k, self.s = k, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        ph = max((math.ceil(ih / self.s) - 1) * self.s + self.k - ih, 0)
        pw = max((math.ceil(iw / self.s) - 1) * self.s + self.k - iw, 0)
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return torch.relu(self.bn(self.conv(x)))


def same_pad_net(width: int = 16, blocks: int = 12) -> nn.Module:
    layers: list[nn.Module] = [SameConv(3, width, 3, 2)]
    for i in range(blocks - 1):
        layers.append(SameConv(width, width, 3, 2 if i % 4 == 3 else 1))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10)).eval()


def export_raw(path: Path, hw: int = 64) -> Path:
    torch.manual_seed(0)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            same_pad_net(),
            (torch.zeros(1, 3, hw, hw),),
            str(path),
            input_names=["input"],
            opset_version=17,
            dynamo=False,
            do_constant_folding=False,
        )
    return path


def run(device: str = "jetson-orin", precision: str = "int8") -> dict[str, Any]:
    import onnx

    from edgekit.trt.check import check_model

    out: dict[str, Any] = {"device": device, "precision": precision}
    with tempfile.TemporaryDirectory() as d:
        p = export_raw(Path(d) / "same_pad.onnx")
        out["raw_nodes"] = len(onnx.load(str(p)).graph.node)
        for label, fold in (("raw", False), ("folded", True)):
            rep = check_model(p, device, precision, True, fold_first=fold)
            c = rep.counts()
            out[label] = {
                "layers": len(rep.layers),
                "dla": c["dla"],
                "gpu": c["gpu"],
                "dynamic_shape_fallbacks": sum(1 for lv in rep.layers if lv.rule == "dla.dynamic_shape"),
                "gpu_fallbacks": sum(1 for lv in rep.layers if lv.where == "gpu"),
                "transitions": rep.transitions,
                "folded_nodes": len(rep.folded),
                "fused_pads": len(rep.fused),
            }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json")
    ap.add_argument("--device", default="jetson-orin")
    a = ap.parse_args(argv)
    doc = run(a.device)
    from rich.console import Console
    from rich.table import Table

    t = Table(
        title=f"edgekit check on an in-graph-padding network ({doc['raw_nodes']} ONNX nodes raw), "
        f"{doc['device']} {doc['precision']} DLA"
    )
    for col in (
        "graph",
        "layers",
        "on DLA",
        "GPU fallbacks",
        "dynamic-shape fallbacks",
        "transitions",
        "folded",
        "Pad fused",
    ):
        t.add_column(col)
    for k in ("raw", "folded"):
        r = doc[k]
        t.add_row(
            k,
            str(r["layers"]),
            str(r["dla"]),
            str(r["gpu_fallbacks"]),
            str(r["dynamic_shape_fallbacks"]),
            str(r["transitions"]),
            str(r["folded_nodes"]),
            str(r["fused_pads"]),
        )
    Console().print(t)
    if a.json:
        Path(a.json).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
