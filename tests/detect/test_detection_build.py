"""A detection build end to end through `edgekit build` at a tiny size (tests/detect/det_fixture.py: 96
composite 64x64 images, 3 classes): every stage of the pipeline through the task seam — training,
distillation of the head maps, pruning that keeps the head, QAT, both INT8 flavours (cpu), the DLA INT8
translation, its check and verification and the TensorRT check (jetson-xavier: checked/compiled, never run),
golden set, manifest."""

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
from edgekit.models.detector import dla_problems

FIXTURE = Path(__file__).resolve().parent / "det_fixture.py"
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}

PROJECT = f"""schema_version: 1
name: det-tiny
task: detection
model:
  teacher: {{factory: "edgekit.models.detector:detector",
            kwargs: {{classes: 3, width: 0.5, head_channels: 32}}}}
  student: {{factory: "edgekit.models.detector:detector",
            kwargs: {{classes: 3, width: 0.35, head_channels: 16}}}}
data:
  source: {{kind: factory, factory: "{FIXTURE}:digits_boxes", kwargs: {{n_train: 96, n_val: 32}}}}
  calibration: {{split: train, count: 32}}
  golden: {{split: val, count: 8}}
preprocess:
  steps:
    - {{op: decode, color: bgr}}
    - {{op: resize, mode: stretch, size: [64, 64], interpolation: area}}
    - {{op: to_float, scale: 0.00392156862745098}}
    - {{op: normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}}
    - {{op: layout, to: NCHW}}
postprocess: {{stride: 8, score_threshold: 0.25, max_detections: 20}}
train: {{num_workers: 0}}
recipe:
  steps: STEPS
  epochs: {{teacher: 8, distill: 4, finetune: 1, qat: 1}}
  batch_size: 16
  lr: 0.005
  prune_ratio: 0.25
"""


def build(root: Path, device: str, steps: str) -> tuple[Path, dict]:  # type: ignore[type-arg]
    root.mkdir(parents=True, exist_ok=True)
    (root / "edgekit.yaml").write_text(PROJECT.replace("STEPS", steps))
    out = root / "bundle"
    r = subprocess.run([sys.executable, "-m", "edgekit.cli", "build", "--config", str(root / "edgekit.yaml"),
                        "--device", device, "--out", str(out), "--no-reuse", "--json"],
                       capture_output=True, text=True, env=ENV, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return out, json.loads(r.stdout)


@pytest.mark.slow
def test_detection_build_cpu(tmp_path: Path) -> None:
    out, summary = build(tmp_path / "cpu", "cpu", "[distill, prune, qat]")
    b = B.load(out, verify=True)
    m = b.manifest
    assert m.task == "detection" and isinstance(m.postprocess, B.DetectionPostprocess)
    assert (m.postprocess.score_threshold, m.postprocess.max_detections) == (0.25, 20)
    assert [(o.name, o.shape) for o in m.outputs] == [("raw", [-1, 7, 8, 8])]
    assert {e.id: e.int8_flavour for e in m.models} == {"teacher_fp32": None, "student_fp32": None,
                                                         "student_int8_qdq": "trt_qdq",
                                                         "student_int8_cpu": "ort_cpu"}
    assert m.default_model == "student_int8_cpu" and b.labels() == ["0", "1", "2"]
    assert m.build is not None and m.build.metric == "map50_95"
    for e in m.models:  # mAP@0.5:0.95 (accuracy) and mAP@0.5 of every model, in ORT on the held-out split
        assert set(e.metrics) == {"accuracy", "map50"}
        assert 0 <= e.metrics["accuracy"] <= e.metrics["map50"] <= 1
        g = onnx.load(str(b.path(e.file))).graph
        assert [o.name for o in g.output] == ["raw"]
        if e.id.endswith("fp32"):
            assert dla_problems(b.path(e.file)) == []
    assert m.model("teacher_fp32").metrics["map50"] > 0.05, m.model("teacher_fp32").metrics  # chance: ~0
    ops = {n.op_type for n in onnx.load(str(b.model_path("student_int8_cpu"))).graph.node}
    assert "QLinearConv" in ops
    stages = {s.stage: s for s in m.build.stages}
    assert {"teacher", "distill", "prune", "finetune", "qat", "export_qdq", "quantize_cpu"} <= set(stages)
    assert stages["prune"].params < stages["distill"].params  # type: ignore[operator]
    assert all(g.label is None for g in m.golden) and len(m.golden) == 8
    # the bundle's default model on its golden images, decoded by the manifest's declaration
    from edgekit.detect.postprocess import detect
    from edgekit.preprocess import run_batch
    from edgekit.stages.onnx_utils import ort_logits

    x = run_batch(m.preprocess, [b.path(g.input) for g in m.golden])
    raw = ort_logits(b.model_path(), x)
    assert raw.shape == (8, 7, 8, 8) and np.isfinite(raw).all()
    dets = detect(raw, m.postprocess, b.labels(), m.preprocess, [(64, 64)] * 8)
    assert len(dets) == 8 and all(len(d) <= 20 for d in dets)
    assert summary["parity"]["skipped"].startswith("the build wrote no parity reference")


@pytest.mark.slow
def test_detection_build_xavier_dla(tmp_path: Path) -> None:
    out, _ = build(tmp_path / "xavier", "jetson-xavier", "[qat]")
    m = B.load(out, verify=True).manifest
    assert {e.id for e in m.models} == {"student_fp32", "student_int8_qdq", "student_int8_dla"}
    hooks = m.extra["hooks"]
    ver = hooks["dla_verify"]
    assert ver["passed"] is True and ver["compared"] > 0 and ver["agreement"] >= 0.99, ver
    checks = hooks["trt_check"]
    fp16 = checks["student_fp32"]
    assert all(lv["where"] == "dla" for lv in fp16["layers"]) and fp16["transitions"] == 0
    dla = checks["student_int8_dla"]  # edgekit's rule: INT8 depthwise on Xavier's DLA v1 kept on the GPU
    assert {lv["op"] for lv in dla["layers"] if lv["where"] != "dla"} == {"Conv"}
    assert (out / "trt" / "plan.json").is_file()
