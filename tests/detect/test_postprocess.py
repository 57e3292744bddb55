"""The Python detection postprocess (edgekit/detect/postprocess.py): decoding, ordering, NMS, inverse geometry."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.bundle import DetectionPostprocess
from edgekit.detect.postprocess import candidates, decode, detect, iou, nms
from edgekit.preprocess.geometry import input_affine
from edgekit.preprocess.spec import PreprocessSpec

LABELS = ["zero", "one", "two"]


def _ltrb(h: int = 4, w: int = 4, c: int = 3) -> np.ndarray:
    out = np.zeros((1, 4 + c, h, w), np.float32)
    out[0, 4:] = -20.0  # every class logit ~0 after sigmoid
    return out


def _spec(mode: str = "letterbox", size: tuple[int, int] = (32, 32)) -> PreprocessSpec:
    return PreprocessSpec.model_validate({"steps": [
        {"op": "decode"}, {"op": "resize", "mode": mode, "size": list(size)},
        {"op": "to_float"}, {"op": "layout", "to": "NCHW"}]})


def test_ltrb_decodes_cell_centres_and_distances() -> None:
    out = _ltrb()
    out[0, :4, 1, 2] = [0.5, 1.0, 1.5, 2.0]  # cell (i=1, j=2): centre (20, 12) at stride 8
    out[0, 4 + 1, 1, 2] = 3.0
    post = DetectionPostprocess(stride=8, coordinates="input")
    boxes, scores = decode(out[0], post)
    p = 1 * 4 + 2
    assert boxes[p].tolist() == [20 - 4, 12 - 8, 20 + 12, 12 + 16]
    assert scores[p, 1] == pytest.approx(1 / (1 + np.exp(-3.0)), rel=1e-6)
    d = detect(out, post, LABELS)[0]
    assert len(d) == 1 and d[0].class_id == 1 and d[0].label == "one" and d[0].box == (16.0, 4.0, 32.0, 28.0)


def test_negative_distances_clamp_to_zero() -> None:
    out = _ltrb()
    out[0, :4, 0, 0] = [-5, -5, 1, 1]
    boxes, _ = decode(out[0], DetectionPostprocess(stride=8))
    assert boxes[0].tolist() == [4.0, 4.0, 12.0, 12.0]


def test_threshold_is_inclusive_and_background_skipped() -> None:
    out = _ltrb()
    out[0, 4 + 0, 0, 0] = 5.0
    out[0, 4 + 2, 0, 1] = 0.0  # sigmoid 0.5 exactly
    post = DetectionPostprocess(score_threshold=0.5, coordinates="input")
    assert [d.class_id for d in detect(out, post, LABELS)[0]] == [0, 2]
    bg = post.model_copy(update={"background_class": True})
    assert [d.class_id for d in detect(out, bg, LABELS)[0]] == [2]


def test_ties_break_by_candidate_index() -> None:
    out = _ltrb()
    for (i, j) in [(3, 3), (0, 0), (2, 1)]:
        out[0, :4, i, j] = 0.4  # small, disjoint boxes
        out[0, 4 + 1, i, j] = 2.0
    boxes, scores = decode(out[0], DetectionPostprocess())
    ks = candidates(boxes, scores, DetectionPostprocess())
    assert [int(k) // 3 for k in ks] == [0, 2 * 4 + 1, 3 * 4 + 3]


def test_nms_suppresses_same_class_only_unless_agnostic() -> None:
    a = np.zeros((1, 4 + 2, 3), np.float32)  # anchor_free_grid, xyxy, raw scores
    a[0, :4, 0] = [0, 0, 10, 10]
    a[0, :4, 1] = [1, 0, 11, 10]  # IoU 9/11 with box 0
    a[0, :4, 2] = [1, 0, 11, 10]
    a[0, 4:, 0] = [0.9, 0.0]
    a[0, 4:, 1] = [0.8, 0.0]
    a[0, 4:, 2] = [0.0, 0.7]
    post = DetectionPostprocess(encoding="anchor_free_grid", box_format="xyxy", score_activation="none",
                                nms_iou=0.5, coordinates="input")
    d = detect(a, post, ["a", "b"])[0]
    assert [(x.class_id, x.score) for x in d] == [(0, pytest.approx(0.9)), (1, pytest.approx(0.7))]
    d2 = detect(a, post.model_copy(update={"class_agnostic": True}), ["a", "b"])[0]
    assert len(d2) == 1
    d3 = detect(a, post.model_copy(update={"nms_iou": 0.9}), ["a", "b"])[0]
    assert len(d3) == 3  # IoU 9/11 < 0.9: kept


def test_iou_is_strict_and_empty_union_is_zero() -> None:
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0
    assert iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)


def test_max_detections_and_pre_nms_top_k() -> None:
    out = _ltrb(8, 8, 1)
    out[0, :4] = 0.2
    out[0, 4] = np.linspace(0, 5, 64, dtype=np.float32).reshape(8, 8)
    post = DetectionPostprocess(score_threshold=0.0, max_detections=7, coordinates="input")
    d = detect(out, post, ["x"])[0]
    assert len(d) == 7 and [x.score for x in d] == sorted([x.score for x in d], reverse=True)
    assert len(detect(out, post.model_copy(update={"pre_nms_top_k": 3}), ["x"])[0]) == 3


def test_cxcywh_grid() -> None:
    a = np.zeros((1, 5, 1), np.float32)
    a[0, :, 0] = [50, 40, 20, 10, 0.9]
    post = DetectionPostprocess(encoding="anchor_free_grid", score_activation="none", coordinates="input")
    assert detect(a, post, ["x"])[0][0].box == (40.0, 35.0, 60.0, 45.0)


def test_nonfinite_candidates_are_skipped() -> None:
    out = _ltrb()
    out[0, 4 + 1, 0, 0] = np.nan
    out[0, :4, 0, 1] = np.inf
    out[0, 4 + 1, 0, 1] = 5.0
    out[0, 4 + 1, 1, 1] = 5.0
    d = detect(out, DetectionPostprocess(coordinates="input"), LABELS)[0]
    assert len(d) == 1 and d[0].box[0] == 12.0


@pytest.mark.parametrize("h,w", [(48, 64), (64, 48), (32, 32), (17, 90)])
def test_letterbox_inverse_round_trips(h: int, w: int) -> None:
    spec = _spec()
    a = input_affine(spec, h, w)
    boxes = np.array([[1.0, 2.0, w - 3.0, h - 1.0], [0, 0, w, h]])
    back = a.inverse_boxes(a.forward_boxes(boxes))
    assert np.allclose(back, boxes, atol=1e-9)
    assert a.out_hw == (32, 32)
    full = a.forward_boxes(np.array([[0, 0, w, h]]))[0]  # the whole image = the letterboxed content
    assert full[0] >= 0 and full[2] <= 32 and full[1] >= 0 and full[3] <= 32
    assert (full[0] == 0 and full[2] == 32) or (full[1] == 0 and full[3] == 32)


def test_original_coordinates_go_through_the_inverse() -> None:
    spec = _spec()  # 64x32 (w x h) image -> 32x16 content, top 8
    out = np.zeros((1, 5, 4, 4), np.float32)
    out[0, 4] = -20
    out[0, :4, 1, 1] = [0.5, 0.5, 0.5, 0.5]  # box (8, 8, 16, 16) in input pixels
    out[0, 4, 1, 1] = 5.0
    post = DetectionPostprocess(stride=8)
    d = detect(out, post, ["x"], spec, [(32, 64)])[0][0]
    assert d.box == (16.0, 0.0, 32.0, 16.0)
    with pytest.raises(ValueError, match="image size"):
        detect(out, post, ["x"])


def test_stretch_and_center_crop_affine() -> None:
    spec = PreprocessSpec.model_validate({"steps": [
        {"op": "decode"}, {"op": "resize", "mode": "shorter_side", "size": [40]},
        {"op": "center_crop", "size": [32, 32]}, {"op": "to_float"}, {"op": "layout"}]})
    a = input_affine(spec, 80, 120)  # -> 40 x 60, crop top 4 left 14
    assert (a.ax, a.bx, a.ay, a.by) == (0.5, -14.0, 0.5, -4.0)
    spec2 = _spec("stretch", (10, 20))
    b = input_affine(spec2, 5, 5)
    assert (b.ax, b.ay) == (4.0, 2.0)


def test_manifest_rules_for_detection() -> None:
    from edgekit.contract import RuleViolation
    from tests.contract.make_corpus import base_manifest

    m = base_manifest()
    m["task"] = "detection"
    with pytest.raises((RuleViolation, ValueError), match="task_postprocess|disagrees"):
        _validate(m)
    m["postprocess"] = {"type": "detection"}
    m["outputs"] = [{"name": "raw", "shape": [-1, 4 + 10, 4, 4]}]
    _validate(m)
    m["outputs"] = [{"name": "raw", "shape": [-1, 10]}]
    with pytest.raises((RuleViolation, ValueError), match="detection_output|rank 4"):
        _validate(m)


def _validate(m: dict) -> None:  # type: ignore[type-arg]
    from edgekit.bundle import Manifest

    Manifest.model_validate(m)
