"""The detection project config: ``task: detection`` and the ``postprocess:`` block
(edgekit/project/schema.py), bad values as one-line errors naming the dotted key and the line; the built-in
digits-detection project."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.bundle import DetectionPostprocess
from edgekit.errors import ConfigError
from edgekit.project.project import builtin_path, load_project
from edgekit.project.schema import DetectionPostprocessSection

FIXTURE = Path(__file__).resolve().parent / "det_fixture.py"

BASE = f"""schema_version: 1
name: det
task: detection
model:
  teacher: {{factory: "edgekit.models.detector:detector", kwargs: {{classes: 3, width: 0.35}}}}
data:
  source: {{kind: factory, factory: "{FIXTURE}:digits_boxes"}}
preprocess:
  steps:
    - {{op: decode, color: bgr}}
    - {{op: resize, mode: stretch, size: [64, 64]}}
    - {{op: to_float, scale: 0.00392156862745098}}
    - {{op: layout, to: NCHW}}
"""


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "edgekit.yaml"
    p.write_text(text)
    return load_project(p)


def _err(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, text)
    msg = str(e.value)
    assert "\n" not in msg and e.value.fix, msg
    return msg


def test_detection_project_loads_with_its_postprocess(tmp_path: Path) -> None:
    proj = _load(tmp_path, BASE + "postprocess:\n  stride: 8\n  score_threshold: 0.4\n  nms_iou: 0.6\n")
    assert proj.task.name == "detection"
    post = proj.task.postprocess(["0", "1", "2"])
    assert isinstance(post, DetectionPostprocess)
    assert (post.score_threshold, post.nms_iou, post.stride) == (0.4, 0.6, 8)
    assert proj.task.output_names() == ["raw"] and proj.task.output_shapes(3) == [[-1, 7, 8, 8]]
    assert proj.task.metric_name() == "map50_95"
    default = _load(tmp_path, BASE)  # no block: the manifest model's defaults
    assert default.task.postprocess([]) == DetectionPostprocess()


@pytest.mark.parametrize(("block", "key"), [
    ("score_threshold: 1.5", "postprocess.score_threshold"),
    ("score_threshold: -0.1", "postprocess.score_threshold"),
    ("nms_iou: 0", "postprocess.nms_iou"),
    ("max_detections: 0", "postprocess.max_detections"),
    ("pre_nms_top_k: 1000000", "postprocess.pre_nms_top_k"),
    ("stride: 0", "postprocess.stride"),
    ("score_margin: 0.9", "postprocess.score_margin"),
    ("encoding: yolo", "postprocess.encoding"),
    ("score_threshold: .nan", "postprocess.score_threshold"),
    ("nms: 0.5", "postprocess.nms"),
])
def test_out_of_range_postprocess_is_one_line_at_its_line(tmp_path: Path, block: str, key: str) -> None:
    msg = _err(tmp_path, BASE + "postprocess:\n  " + block + "\n")
    line = len(BASE.splitlines()) + 2
    assert f"edgekit.yaml:{line}: {key}:" in msg, msg


def test_postprocess_block_needs_task_detection(tmp_path: Path) -> None:
    text = BASE.replace("task: detection", "task: classification") + "postprocess:\n  stride: 8\n"
    assert "postprocess: a postprocess block is for task: detection" in _err(tmp_path, text)


def test_an_external_encoding_cannot_be_trained(tmp_path: Path) -> None:
    msg = _err(tmp_path, BASE + "postprocess:\n  encoding: anchor_free_grid\n")
    # deployed (pretrained teacher, ptq), never trained: tests/detect/test_external_layout.py
    assert "model.teacher.pretrained: postprocess.encoding anchor_free_grid is deployed, not trained" in msg


def test_the_config_block_is_the_manifest_model_minus_type_and_labels_file() -> None:
    """One truth: the same fields, defaults and bounds as edgekit/bundle.py's DetectionPostprocess."""
    want = {k: f for k, f in DetectionPostprocess.model_fields.items() if k not in ("type", "labels_file")}
    got = DetectionPostprocessSection.model_fields
    assert list(got) == list(want)
    for k, f in want.items():
        g = got[k]
        assert (g.annotation, g.default, g.metadata) == (f.annotation, f.default, f.metadata), k


def test_builtin_digits_detection_project() -> None:
    proj = load_project(builtin_path("digits-detection"))
    assert proj.task.name == "detection"
    assert proj.cfg.data.source.factory == "edgekit.data.composite:digits_detection"  # type: ignore[union-attr]
    assert proj.plan == ("train_teacher", "distill", "prune", "qat")
    assert proj.spec.input_shape() == [1, 3, 160, 160]
    assert proj.task.output_shapes(10) == [[-1, 14, 20, 20]]
    t = proj.teacher()
    s = proj.student()
    assert s is not None and sum(p.numel() for p in s.parameters()) < sum(p.numel() for p in t.parameters())
