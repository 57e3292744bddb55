"""An external-layout detector (the Ultralytics export layout, postprocess.encoding anchor_free_grid): the
user's factory returns [N, 4 + C, A] (cx, cy, w, h in input pixels; scores sigmoided inside the net) and is
declared ``pretrained: true``. edgekit deploys it — export, INT8 by calibration (ptq), golden, bundle, the
Python postprocess — but never trains it (the loss is edgekit_ltrb's): a training step, a student or a
teacher that is not pretrained is refused in one line. Its flatten is a Reshape: `edgekit check` on a DLA
device must place it (and what follows it) on the GPU, while the edgekit_ltrb user model stays on the DLA."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from edgekit import bundle as B
from tests.detect.test_user_detection import SOURCE_YOLO, _one_line_error, build, edgekit, write_project
from tests.detect.user_data import CLASSES, H, W, write_yolo

GRID = [
    ('teacher: {factory: "model.py:build", kwargs: {classes: 2, width: 16}}',
     'teacher: {factory: "model.py:grid", kwargs: {classes: 2, fresh_bn: FRESH}, pretrained: true}'),
    ("encoding: edgekit_ltrb", "encoding: anchor_free_grid\n  box_format: cxcywh\n  score_activation: none"),
]


def write_grid(root: Path, data: Path, steps: str = "[]", extra: tuple[str, str] | None = None,
               fresh_bn: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(data, root / "data")
    cfg = write_project(root, SOURCE_YOLO, steps)
    text = cfg.read_text()
    for old, new in [*GRID, *([extra] if extra else [])]:
        assert old in text
        text = text.replace(old, new)
    cfg.write_text(text.replace("FRESH", "true" if fresh_bn else "false"))
    return cfg


@pytest.fixture(scope="module")
def small_yolo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_yolo(tmp_path_factory.mktemp("grid") / "data", n_train=16, n_val=8)


@pytest.fixture(scope="module")
def grid_bundle(tmp_path_factory: pytest.TempPathFactory, small_yolo: Path) -> Path:
    # fresh BatchNorms: the export shares their equal zero biases through Identity nodes, which ORT's INT8
    # quantizer could not take (a crash before export_onnx inlined them)
    cfg = write_grid(tmp_path_factory.mktemp("gridb") / "p", small_yolo, fresh_bn=True)
    r = build(cfg)
    assert r.returncode == 0, r.stderr[-3000:]
    return cfg.parent / "bundle"


def test_external_layout_bundle(grid_bundle: Path) -> None:
    b = B.load(grid_bundle, verify=True)
    m = b.manifest
    assert m.task == "detection" and isinstance(m.postprocess, B.DetectionPostprocess)
    p = m.postprocess
    assert (p.encoding, p.box_format, p.score_activation) == ("anchor_free_grid", "cxcywh", "none")
    assert [(o.name, o.shape) for o in m.outputs] == [("raw", [-1, 6, -1])]
    assert {e.id for e in m.models} == {"student_fp32", "student_int8_qdq", "student_int8_cpu"}
    assert m.build is not None
    stages = {s.stage for s in m.build.stages}
    assert "teacher" not in {s.stage for s in m.build.stages if s.seconds and s.seconds > 5}
    assert {"ptq", "export_qdq", "quantize_cpu"} <= stages and not {"distill", "qat", "finetune"} & stages
    from edgekit.detect.postprocess import detect
    from edgekit.preprocess import run_batch
    from edgekit.stages.onnx_utils import ort_logits

    x = run_batch(m.preprocess, [b.path(g.input) for g in m.golden])
    for e in m.models:
        assert set(e.metrics) == {"accuracy", "map50"}
        assert [o.name for o in onnx.load(str(b.path(e.file))).graph.output] == ["raw"]
        assert ort_logits(b.path(e.file), x).shape == (len(m.golden), 6, 64)  # [N, 4 + C, A], A = 8 x 8
    # the Python postprocess decodes the external layout: boxes from cx, cy, w, h, back through the letterbox
    raw = ort_logits(b.model_path("student_fp32"), x)
    assert raw.shape == (len(m.golden), 6, 64)
    low = p.model_copy(update={"score_threshold": 0.0, "max_detections": 5})
    dets = detect(raw, low, b.labels(), m.preprocess, [(H, W)] * len(m.golden))
    assert all(len(d) == 5 for d in dets)
    # the first image's best detection, by hand: cxcywh -> xyxy in input pixels, then the letterbox inverse
    # (64x80 photo -> 51x64 inside a 64x64 input: scale 0.8, 6 (or 7) rows of padding on top)
    r0 = raw[0]
    cand = [(float(r0[4 + c, a]), a * 2 + c) for a in range(64) for c in range(2)]
    score, k = sorted(cand, key=lambda t: (-t[0], t[1]))[0]
    a, c = divmod(k, 2)
    cx, cy, w, h = (float(v) for v in r0[:4, a])
    from edgekit.preprocess.geometry import input_affine

    aff = input_affine(m.preprocess, H, W)
    want = aff.inverse_boxes(np.array([[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]], np.float64))[0]
    want = np.clip(want, 0, [W, H, W, H])
    best = dets[0][0]
    assert best.class_id == c and best.label == CLASSES[c] and abs(best.score - score) < 1e-6
    assert np.allclose(best.box, want, atol=1e-3), (best.box, want)


def test_external_layout_check_places_the_flatten_on_the_gpu(grid_bundle: Path, tmp_path: Path) -> None:
    b = B.load(grid_bundle)
    r = edgekit("check", b.model_path("student_fp32"), "--device", "jetson-orin", "--json")
    rep = json.loads(r.stdout)
    layers = rep["layers"] if "layers" in rep else rep["dla"]["layers"]
    gpu = [lv for lv in layers if lv["where"] != "dla"]
    assert any(lv["op"] in ("Reshape", "Flatten") for lv in gpu), layers
    assert any(lv["where"] == "dla" and lv["op"] == "Conv" for lv in layers)


@pytest.mark.parametrize("steps,extra,says", [
    ("[qat]", None, ["recipe.steps", "['qat'] need training"]),
    ("[distill, prune]", None, ["recipe.steps", "['distill', 'prune'] need training"]),
    ("[]", ("pretrained: true", "pretrained: false"), ["model.teacher.pretrained", "cannot be trained"]),
    ("[]", ("model:\n", 'model:\n  student: {factory: "model.py:grid"}\n'), ["model.student", "distilled"]),
    ("[]", ('"model.py:grid", kwargs: {classes: 2, fresh_bn: FRESH}',
            '"model.py:build", kwargs: {classes: 2}'),
     ["model.teacher", "not [2, 6, A]"]),
], ids=["qat", "distill-prune", "not-pretrained", "student", "ltrb-output-declared-grid"])
def test_external_layout_refuses_training(tmp_path: Path, small_yolo: Path, steps: str,
                                          extra: tuple[str, str] | None, says: list[str]) -> None:
    cfg = write_grid(tmp_path / "p", small_yolo, steps, extra)
    _one_line_error(build(cfg), "edgekit.yaml:", "anchor_free_grid", *says)
    assert not (tmp_path / "p" / "bundle").exists()
