"""edgekit's detector family (edgekit/models/detector.py) exports DLA-clean: one output ``raw`` with fixed
non-batch dims, only Conv/Clip/Relu/Add and one channel Concat; `edgekit check` places every layer on the DLA
of jetson-orin (FP16 and INT8) and jetson-xavier (FP16). Static checks: checked, never run on a board."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch
import torch.nn as nn

from edgekit.models.detector import Detector, detector, dla_problems
from edgekit.stages.onnx_utils import export_onnx, slim
from edgekit.trt.check import check_model


def _export(model: nn.Module, path: Path, opset: int = 17, size: int = 96) -> Path:
    export_onnx(model.eval(), path, torch.zeros(1, 3, size, size), opset, ["raw"])
    slim(path)
    return path


@pytest.fixture(scope="module")
def det_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(detector(10, width=0.5, head_channels=32), tmp_path_factory.mktemp("det") / "det.onnx")


def test_exported_detector_has_only_dla_ops_and_one_static_output(det_onnx: Path) -> None:
    m = onnx.load(str(det_onnx))
    assert dla_problems(m) == []
    assert {n.op_type for n in m.graph.node} <= {"Conv", "Clip", "Relu", "Add", "Concat"}
    [out] = m.graph.output
    dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in out.type.tensor_type.shape.dim]
    assert out.name == "raw" and dims[1:] == [14, 12, 12]
    concat = [n for n in m.graph.node if n.op_type == "Concat"]
    assert len(concat) == 1 and concat[0].output[0] == "raw"


@pytest.mark.parametrize(("device", "precision"), [("jetson-orin", "fp16"), ("jetson-orin", "int8"),
                                                   ("jetson-xavier", "fp16")])
def test_edgekit_check_places_every_layer_on_the_dla(det_onnx: Path, device: str, precision: str) -> None:
    rep = check_model(det_onnx, device, precision, use_dla=True)
    c = rep.counts()
    assert not rep.errors and c["dla"] == len(rep.layers) > 20 and c["gpu"] == 0 and rep.transitions == 0, c


def test_xavier_int8_keeps_only_the_depthwise_convs_on_the_gpu(det_onnx: Path) -> None:
    """edgekit's DLA v1 rule (INT8 depthwise on Xavier's DLA unconfirmed: kept on the GPU)."""
    rep = check_model(det_onnx, "jetson-xavier", "int8", use_dla=True)
    gpu = [lv for lv in rep.layers if lv.where != "dla"]
    m = onnx.load(str(det_onnx))
    groups = {n.name: next((a.i for a in n.attribute if a.name == "group"), 1) for n in m.graph.node}
    assert gpu and all(lv.op == "Conv" and groups[lv.node] > 1 for lv in gpu)
    assert all(lv.rule == "dla.conv.int8_group_size" for lv in gpu)


def test_trt82_opset_ceiling_exports_clean(tmp_path: Path) -> None:
    p = _export(detector(3, width=0.35, head_channels=16), tmp_path / "d13.onnx", opset=13, size=64)
    assert onnx.load(str(p)).opset_import[0].version == 13 and dla_problems(p) == []


class _ReshapeHead(Detector):
    """The Ultralytics-like layout [N, 4 + C, H * W] inside the network: a Reshape the DLA cannot run."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        return y.reshape(y.shape[0], y.shape[1], -1)


class _SpatialConcatHead(Detector):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.head.tower(self.features(x))
        return torch.cat([self.head.box(f), self.head.cls(f)[:, :4]], dim=2)


def test_a_head_with_a_reshape_or_a_spatial_concat_fails_the_check(tmp_path: Path) -> None:
    bad = _export(_ReshapeHead(3, width=0.35, head_channels=16), tmp_path / "r.onnx", size=64)
    assert any("Reshape" in p for p in dla_problems(bad)), dla_problems(bad)
    cat = _export(_SpatialConcatHead(4, width=0.35, head_channels=16), tmp_path / "c.onnx", size=64)
    assert any("Concat on axis 2" in p for p in dla_problems(cat)), dla_problems(cat)


def test_pretrained_backbone_seeds_width_1_only() -> None:
    from edgekit.errors import ConfigError
    from edgekit.models.detector import load_backbone
    from edgekit.models.mobilenetv2 import pretrained_weights_path

    state = torch.load(pretrained_weights_path(), map_location="cpu", weights_only=True)
    m = detector(10, width=1.0, pretrained=True)
    assert load_backbone(m) == len(m.features.state_dict())
    for k in ("0.0.weight", "6.conv.3.running_var"):
        assert torch.equal(m.features.state_dict()[k], state[f"features.{k}"]), k
    assert not torch.equal(detector(10, width=1.0).features[0][0].weight, state["features.0.0.weight"])
    with pytest.raises(ConfigError, match="width 1.0"):
        load_backbone(detector(10, width=0.5))


def test_dla_v1_int8_variant_is_the_same_function_and_all_dla_on_xavier_int8(tmp_path: Path) -> None:
    from edgekit.models.detector import group_depthwise

    torch.manual_seed(0)
    m = detector(3, width=0.5, head_channels=32).eval()
    g = detector(3, width=0.5, head_channels=32).eval()
    g.load_state_dict(m.state_dict())
    assert group_depthwise(g) == 8
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(m(x), g(x), atol=1e-6)
    convs = [c for c in g.modules() if isinstance(c, nn.Conv2d)]
    assert all(c.groups == 1 or c.in_channels // c.groups == 4 for c in convs)
    rep = check_model(_export(g, tmp_path / "g.onnx", size=64), "jetson-xavier", "int8", use_dla=True)
    assert rep.counts()["gpu"] == 0 and rep.transitions == 0 and not rep.errors
    assert detector(3, width=0.5, dla_v1_int8=True).features[1].conv[0][0].groups == 4  # 16 ch / 4 per group
