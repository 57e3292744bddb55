"""A user's own detection project through `edgekit build --fast` on the CPU: the user's model.py (a small
network with an edgekit_ltrb head, not edgekit's detector), the user's YOLO dataset (real photo crops with
shapes pasted at known boxes) or COCO dataset, and a postprocess block in edgekit.yaml; the bundle is checked
(task, DetectionPostprocess from the yaml, the ONNX output [N, 4 + C, H, W], golden items, mAP records).
Bad input for detection projects through the CLI: one line on stderr, a non-zero exit, no bundle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from edgekit import bundle as B
from tests.detect.user_data import CLASSES, MODEL_PY, H, W, write_coco, write_yolo

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}

SOURCE_YOLO = "{kind: yolo, root: data}"
SOURCE_COCO = ("{kind: coco, train: {annotations: data/train.json, images: data/images}, "
               "val: {annotations: data/val.json, images: data/images}}")

PROJECT = """schema_version: 1
name: shapes-det
task: detection
model:
  teacher: {factory: "model.py:build", kwargs: {classes: 2, width: 16}}
data:
  source: SOURCE
  max_boxes: 4
  calibration: {split: train, count: 16}
  golden: {split: val, count: 4}
augment:
  steps:
    - {op: horizontal_flip, p: 0.5}
preprocess:
  steps:
    - {op: decode, color: bgr}
    - {op: resize, mode: letterbox, size: [64, 64], interpolation: area}
    - {op: to_float, scale: 0.00392156862745098}
    - {op: layout, to: NCHW}
postprocess:
  encoding: edgekit_ltrb
  stride: 8
  score_threshold: 0.2
  nms_iou: 0.45
  max_detections: 10
  class_agnostic: true
train: {num_workers: 0}
recipe:
  steps: STEPS
  epochs: {teacher: 6, finetune: 1, qat: 1}
  batch_size: 8
  lr: 0.01
  prune_ratio: 0.25
"""


def edgekit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgekit.cli", *map(str, args)], capture_output=True,
                          text=True, env=ENV, timeout=900)


def write_project(root: Path, source: str, steps: str = "[]", edit: tuple[str, str] | None = None,
                  data: str = "yolo") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "data").exists():
        (write_yolo if data == "yolo" else write_coco)(root / "data")
    (root / "model.py").write_text(MODEL_PY)
    text = PROJECT.replace("SOURCE", source).replace("STEPS", steps)
    if edit is not None:
        assert edit[0] in text
        text = text.replace(*edit)
    (root / "edgekit.yaml").write_text(text)
    return root / "edgekit.yaml"


def build(cfg: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return edgekit("build", "--config", cfg, "--device", "cpu", "--fast", "--out", cfg.parent / "bundle",
                   "--no-reuse", "--json", *extra)


def check_bundle(out: Path, ids: set[str]) -> B.Manifest:
    b = B.load(out, verify=True)
    m = b.manifest
    assert m.task == "detection" and isinstance(m.postprocess, B.DetectionPostprocess)
    p = m.postprocess  # the yaml's block, verbatim
    assert (p.encoding, p.stride, p.score_threshold, p.nms_iou, p.max_detections, p.class_agnostic) == (
        "edgekit_ltrb", 8, 0.2, 0.45, 10, True)
    assert b.labels() == list(CLASSES)
    assert [(o.name, o.shape) for o in m.outputs] == [("raw", [-1, 6, 8, 8])]
    assert {e.id for e in m.models} == ids
    for e in m.models:
        assert set(e.metrics) == {"accuracy", "map50"}  # mAP@0.5:0.95 and mAP@0.5 on the held-out split
        assert 0.0 <= e.metrics["accuracy"] <= e.metrics["map50"] <= 1.0
        g = onnx.load(str(b.path(e.file))).graph
        assert [o.name for o in g.output] == ["raw"]
        dims = [d.dim_value or d.dim_param for d in g.output[0].type.tensor_type.shape.dim]
        assert dims[1:] == [6, 8, 8], dims
    assert m.build is not None and m.build.metric == "map50_95"
    assert len(m.golden) == 4 and all(g.label is None for g in m.golden)
    # the golden images through the bundle's own declaration: boxes in the original 80x64 photos
    from edgekit.detect.postprocess import detect
    from edgekit.preprocess import run_batch
    from edgekit.stages.onnx_utils import ort_logits

    x = run_batch(m.preprocess, [b.path(g.input) for g in m.golden])
    raw = ort_logits(b.model_path(), x)
    assert raw.shape == (4, 6, 8, 8) and np.isfinite(raw).all()
    for dets in detect(raw, p, b.labels(), m.preprocess, [(H, W)] * 4):
        assert len(dets) <= 10
        for d in dets:
            assert 0 <= d.box[0] <= d.box[2] <= W and 0 <= d.box[1] <= d.box[3] <= H
            assert d.label in CLASSES and d.score >= 0.2
    return m


@pytest.mark.slow
def test_user_yolo_detector_build(tmp_path: Path) -> None:
    cfg = write_project(tmp_path / "yolo", SOURCE_YOLO, "[prune, qat]")
    r = build(cfg)
    assert r.returncode == 0, r.stderr[-3000:]
    m = check_bundle(cfg.parent / "bundle",
                     {"teacher_fp32", "student_fp32", "student_int8_qdq", "student_int8_cpu"})
    assert m.build is not None
    stages = {s.stage: s for s in m.build.stages}
    assert {"teacher", "prune", "finetune", "qat", "export_qdq", "quantize_cpu"} <= set(stages)
    assert stages["prune"].params < stages["teacher"].params  # type: ignore[operator]
    # the user's head convs (found through the graph: the model has no final_convs()) kept whole: the
    # pruned student still has 4 + 2 output channels (check_bundle) and learned something (chance is ~0)
    assert m.model("teacher_fp32").metrics["map50"] > 0.05, m.model("teacher_fp32").metrics
    # the end-of-build parity: the C++ runtime's detections vs the training record, box by box
    par = json.loads(r.stdout)["parity"]
    rep = json.loads((cfg.parent / "bundle" / "parity.json").read_text())
    assert "skipped" not in par and par.get("exit_code") == 0, par
    assert rep["verdict"] == "in sync" and rep["verified_items"] > 0, rep["summary"]
    bench = rep["detection_benchmark"]
    assert bench["matched"] > 0 and bench["count_agreement"] == 1.0 and bench["worst_iou"] >= 0.99, bench


@pytest.mark.slow
def test_user_coco_detector_build(tmp_path: Path) -> None:
    cfg = write_project(tmp_path / "coco", SOURCE_COCO, "[]", data="coco")
    r = build(cfg)
    assert r.returncode == 0, r.stderr[-3000:]
    # no student, no training step: the teacher is deployed, INT8 by calibration (ptq, the cpu profile's INT8)
    check_bundle(cfg.parent / "bundle", {"student_fp32", "student_int8_qdq", "student_int8_cpu"})


def _one_line_error(r: subprocess.CompletedProcess[str], *says: str) -> None:
    assert r.returncode != 0, r.stdout[-1000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr[-2000:]
    for s in says:
        assert s in lines[0], lines[0]


@pytest.fixture(scope="module")
def yolo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_yolo(tmp_path_factory.mktemp("bad") / "data", n_train=6, n_val=3)


def _bad_project(tmp: Path, data: Path, edit: tuple[str, str] | None = None) -> Path:
    import shutil

    shutil.copytree(data, tmp / "data")
    return write_project(tmp, SOURCE_YOLO, "[]", edit)


@pytest.mark.parametrize("edit,says", [
    (("score_threshold: 0.2", "score_threshold: 1.5"), ["postprocess.score_threshold"]),
    (("nms_iou: 0.45", "nms_iou: 0"), ["postprocess.nms_iou"]),
    (("max_detections: 10", "max_detections: 0"), ["postprocess.max_detections"]),
    (("stride: 8", "stride: 2048"), ["postprocess.stride"]),
    (("encoding: edgekit_ltrb", "encoding: yolov8"), ["postprocess.encoding"]),
    (('"model.py:build"', '"model.py:flat"'), ["model.teacher", "not [2, 6, H, W]"]),
    (("stride: 8", "stride: 16"), ["model.teacher", "postprocess.stride 16"]),
], ids=["threshold", "nms_iou", "max_detections", "stride-range", "encoding", "flat-output", "grid-stride"])
def test_bad_detection_project(tmp_path: Path, yolo_data: Path, edit: tuple[str, str],
                               says: list[str]) -> None:
    cfg = _bad_project(tmp_path, yolo_data, edit)
    _one_line_error(build(cfg), "edgekit.yaml:", *says)
    assert not (tmp_path / "bundle").exists()


def test_yolo_wrong_columns(tmp_path: Path, yolo_data: Path) -> None:
    cfg = _bad_project(tmp_path, yolo_data)
    lab = tmp_path / "data" / "labels" / "train" / "train002.txt"
    lab.write_text("0 0.5 0.5 0.2\n")
    _one_line_error(build(cfg), "train002.txt:1", "4 columns", "expected 5")
    assert lab.read_text() == "0 0.5 0.5 0.2\n" and not (tmp_path / "bundle").exists()
