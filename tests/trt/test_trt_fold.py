"""edgekit check judges the graph TensorRT will see: constant/shape subgraphs folded first, and reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from edgekit.trt.check import check_model
from edgekit.trt.same_pad_bench import same_pad_net


@pytest.fixture(scope="module")
def raw_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("fold") / "same_pad.onnx"
    torch.manual_seed(0)
    with torch.no_grad():
        torch.onnx.export(
            same_pad_net(width=8, blocks=5),
            (torch.zeros(1, 3, 32, 32),),
            str(p),
            input_names=["input"],
            opset_version=17,
            dynamo=False,
            do_constant_folding=False,
        )
    return p


def test_raw_export_has_shape_subgraphs_that_look_dynamic(raw_export: Path) -> None:
    rep = check_model(raw_export, "jetson-orin", "int8", True, fold_first=False)
    dyn = [lv for lv in rep.layers if lv.rule == "dla.dynamic_shape"]
    assert dyn and not rep.folded  # the subject of the fix: without folding, shape arithmetic is judged


def test_folded_export_runs_on_the_dla_and_names_what_was_folded(raw_export: Path) -> None:
    rep = check_model(raw_export, "jetson-orin", "int8", True)
    assert rep.layers and all(lv.where == "dla" for lv in rep.layers), [
        (lv.node, lv.rule) for lv in rep.layers if lv.where != "dla"
    ]
    assert any("Shape" in n for n in rep.folded) and len(rep.fused) == 5
    assert any(f.rule == "trt.folded" for f in rep.findings)
    assert rep.to_dict()["folded"] == rep.folded


def test_a_graph_without_shape_nodes_is_judged_as_is(tmp_path: Path) -> None:
    p = tmp_path / "plain.onnx"
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU()).eval()
    torch.onnx.export(m, (torch.zeros(1, 3, 16, 16),), str(p), opset_version=17, dynamo=False)
    rep = check_model(p, "jetson-orin", "fp16", True)
    assert rep.folded == [] and rep.fused == []


def test_cli_reports_folded_nodes(raw_export: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgekit.cli",
            "check",
            str(raw_export),
            "--device",
            "jetson-orin",
            "--precision",
            "int8",
            "--dla",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["folded"] and doc["layer_counts"]["gpu"] == 0
    r2 = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgekit.cli",
            "check",
            str(raw_export),
            "--device",
            "jetson-orin",
            "--precision",
            "int8",
            "--dla",
            "--no-fold",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert json.loads(r2.stdout)["layer_counts"]["gpu"] > 0
