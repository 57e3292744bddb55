"""Parity for detectors (issue 16, item 4) beyond the drift table: the box-by-box comparison core, the
training record of a detection bundle, the C++ result-line format, the machine-readable benchmark, and the
built edgekit-infer on a detection bundle (never a pass unless its detections were compared)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgekit import bundle as B
from edgekit.bundle import DetectionPostprocess
from edgekit.detect.postprocess import Detection, detect
from edgekit.errors import BundleError
from edgekit.parity import compare, localize, run_parity
from edgekit.parity.reference import REF_DIR, load_reference
from edgekit.parity.runners import ItemResult, _apply_json, parse_detections
from edgekit.parity.tolerances import DET_SAME_OUTPUT
from edgekit.preprocess.spec import PreprocessSpec
from tests.parity.conftest import CPP_BINARY
from tests.parity.det_bundle import SPEC
from tests.parity.drift_cases import _det_in_sync
from tests.parity.test_cli import _cli

THR, MARGIN = 0.3, 0.05


def _d(box: tuple[float, float, float, float], score: float, c: int = 0, label: str = "a") -> Detection:
    return Detection(box, score, c, label)


# -- the comparison core -----------------------------------------------------------------------------------


def test_identical_detections_agree() -> None:
    e = [_d((0, 0, 10, 10), 0.9), _d((20, 20, 30, 30), 0.8, 1, "b")]
    r = compare.detections(e, list(e), DET_SAME_OUTPUT, THR, MARGIN)
    assert r.ok and r.worst_iou == 1.0 and r.worst_score == 0.0 and len(r.pairs) == 2 and r.decisive == 2


def test_boxes_are_matched_one_to_one_same_class_greedy_by_score() -> None:
    e = [_d((0, 0, 10, 10), 0.6), _d((0, 0, 10, 10.5), 0.9)]  # the better-scored one claims the best box
    g = [_d((0, 0, 10, 10.5), 0.9), _d((0, 0, 10, 10), 0.6)]
    r = compare.detections(e, g, DET_SAME_OUTPUT, THR, MARGIN)
    assert sorted((i, j) for i, j, _, _ in r.pairs) == [(0, 1), (1, 0)] and r.ok
    other_class = [_d((0, 0, 10, 10), 0.9, 1, "b")]
    r2 = compare.detections([_d((0, 0, 10, 10), 0.9)], other_class, DET_SAME_OUTPUT, THR, MARGIN)
    assert not r2.ok and r2.missing == [0] and r2.extra == [0] and not r2.pairs
    dup = compare.detections([_d((0, 0, 10, 10), 0.9)], [_d((0, 0, 10, 10), 0.9)] * 2, DET_SAME_OUTPUT,
                             THR, MARGIN)  # fmt: skip
    assert not dup.ok and dup.extra == [1]  # one-to-one: a duplicate is an extra detection


def test_box_and_score_tolerances() -> None:
    e = [_d((0, 0, 100, 100), 0.9)]
    shifted = compare.detections(e, [_d((2, 0, 102, 100), 0.9)], DET_SAME_OUTPUT, THR, MARGIN)
    assert shifted.pairs and not shifted.boxes_ok and shifted.worst_iou == pytest.approx(98 / 102)
    tiny = compare.detections(e, [_d((0, 0, 100, 100.001), 0.9)], DET_SAME_OUTPUT, THR, MARGIN)
    assert tiny.ok
    score = compare.detections(e, [_d((0, 0, 100, 100), 0.9 + 1e-4)], DET_SAME_OUTPUT, THR, MARGIN)
    assert score.boxes_ok and not score.scores_ok and not score.ok
    nan = compare.detections(e, [_d((0, 0, 100, float("nan")), 0.9)], DET_SAME_OUTPUT, THR, MARGIN)
    assert not nan.ok


def test_near_threshold_differences_are_excused_and_counted() -> None:
    e = [_d((0, 0, 10, 10), 0.9), _d((50, 50, 60, 60), 0.32)]  # 0.32: within 0.05 of 0.3
    r = compare.detections(e, e[:1], DET_SAME_OUTPUT, THR, MARGIN)
    assert r.ok and r.excused == 1 and r.decisive == 1
    far = [_d((0, 0, 10, 10), 0.9), _d((50, 50, 60, 60), 0.5)]
    r2 = compare.detections(far, far[:1], DET_SAME_OUTPUT, THR, MARGIN)
    assert not r2.ok and r2.missing == [1] and r2.excused == 0


def test_labels_of_matched_boxes_are_compared() -> None:
    e = [_d((0, 0, 10, 10), 0.9, 0, "cat")]
    r = compare.detections(e, [_d((0, 0, 10, 10), 0.9, 0, "dog")], DET_SAME_OUTPUT, THR, MARGIN)
    assert r.boxes_ok and r.count_ok and not r.labels_ok and not r.ok


# -- the C++ result line (edgekit-infer --json / --output DIR/results.jsonl) --------------------------------

LINE = {
    "input": "/b/golden/cat.jpg", "model": "m", "nonfinite": 0, "image_size": [300, 451],
    "detections": [{"box": [1.5, 2, 30, 40.25], "score": 0.75, "class_id": 2, "label": "bright"}],
}  # fmt: skip


def test_result_line_is_parsed() -> None:
    dets, hw = parse_detections(LINE)
    assert hw == (300, 451) and dets == [Detection((1.5, 2.0, 30.0, 40.25), 0.75, 2, "bright")]
    r = ItemResult()
    seen = _apply_json("log line\n" + json.dumps(LINE) + "\n", {"cat": r}, "m", detection=True)
    assert seen == {"cat"} and r.error is None and r.detections == dets and r.image_size == (300, 451)
    empty = dict(LINE, detections=[])  # an image with no object: a valid, empty result
    r0 = ItemResult()
    assert _apply_json(json.dumps(empty), {"cat": r0}, "m", detection=True) == {"cat"} and r0.detections == []


@pytest.mark.parametrize(
    "bad",
    [
        {"detections": None},
        {"image_size": [300]},
        {"detections": [{"box": [1, 2, 3], "score": 0.5, "class_id": 0}]},
        {"detections": [{"box": [1, 2, 3, 4], "score": 0.5, "class_id": "0"}]},
        {"top_k": [{"index": 0, "score": 0.9}], "detections": None},  # a classifier's line
    ],
)
def test_malformed_result_lines_are_an_item_error(bad: dict) -> None:
    rec = {k: v for k, v in {**LINE, **bad}.items() if v is not None}
    r = ItemResult()
    assert _apply_json(json.dumps(rec), {"cat": r}, "m", detection=True) == set()
    assert r.error is not None and "does not interpret postprocess type detection" in r.error
    r2 = ItemResult()
    _apply_json(json.dumps({**LINE, "nonfinite": 3}), {"cat": r2}, "m", detection=True)
    assert r2.error == "edgekit-infer reported NaN/Inf outputs"


# -- the training record -------------------------------------------------------------------------------------


def test_record_holds_detections_image_sizes_and_the_postprocess(det_bundle_session: Path) -> None:
    ref = load_reference(det_bundle_session)
    assert ref.task == "detection" and ref.detection().score_threshold == 0.3
    assert ref.raw["postprocess"]["nms_iou"] == 0.5 and "top_k" not in ref.raw
    sizes = [ref.image_size(it) for it in ref.items]
    assert sizes[0] == (300, 451) and all(s is not None for s in sizes)
    dets = ref.model_detections("student_fp32")
    assert dets is not None and len(dets) == len(ref.items) and sum(map(len, dets)) > 20
    assert all(d.score >= 0.3 and d.label in ref.labels for ds in dets for d in ds)
    assert ref.models["student_fp32"]["detections_above_margin"] > 0
    raw = ref.model_outputs("student_fp32", "ort")
    assert raw is not None and raw["raw"].shape == (len(ref.items), 7, 8, 8)


def test_truncated_detection_record_is_an_error(det_bundle_copy: Path) -> None:
    p = det_bundle_copy / REF_DIR / "outputs" / "student_fp32.det.json"
    rec = json.loads(p.read_text())
    rec["items"].pop(next(iter(rec["items"])))
    p.write_text(json.dumps(rec))
    with pytest.raises(BundleError, match="does not cover every golden item"):
        load_reference(det_bundle_copy).model_detections("student_fp32")


def test_changed_training_detections_fail_vs_record(det_bundle_copy: Path) -> None:
    """The record is what the side is compared with box by box: a recorded box moved by 20 px is caught."""
    p = det_bundle_copy / REF_DIR / "outputs" / "student_fp32.det.json"
    rec = json.loads(p.read_text())
    first = next(k for k, v in rec["items"].items() if v)
    rec["items"][first][0]["box"] = [v + 20 for v in rec["items"][first][0]["box"]]
    p.write_text(json.dumps(rec))
    from tests.parity.conftest import rehash

    rehash(det_bundle_copy)
    r = run_parity(det_bundle_copy, runtime="ort")
    assert r.exit_code == 1 and r.detection is not None and r.detection.status == "pass"
    assert r.detection_vs_record is not None and r.detection_vs_record.status == "fail"
    assert next(p for p in r.postprocess if p.aspect == "vs training record").items_bad == 1


# -- the report and the CLI --------------------------------------------------------------------------------


def test_cli_json_has_the_detection_benchmark(det_bundle_session: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    p = _cli(str(det_bundle_session), "--runtime", "ort", "--json", str(out))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "detections, box by box" in p.stdout and "detections 5" in p.stdout
    rep = json.loads(out.read_text())
    b = rep["detection_benchmark"]
    assert rep["verdict"] == "in sync" and b["items"] == 5 and b["count_agreement"] == 1.0
    assert b["worst_iou"] >= 0.99 and b["worst_score_diff"] <= 1e-5 and b["excused_near_threshold"] == 0
    assert rep["detection_vs_record"]["status"] == "pass" and rep["task"] == "detection"


# -- the built C++ runtime on a detection bundle -------------------------------------------------------------


@pytest.mark.cpp
@pytest.mark.skipif(CPP_BINARY is None, reason="edgekit-infer is not built (cpp_runtime/build/bin)")
def test_built_edgekit_infer_on_a_detection_bundle_is_never_a_blind_pass(det_bundle_session: Path,
                                                                         tmp_path: Path) -> None:  # fmt: skip
    """Until the C++ runtime interprets detection it must give "not verified" (exit 3) with a clear message;
    once it does, parity must compare its detections box by box and find them in sync."""
    root = tmp_path / "b"
    shutil.copytree(det_bundle_session, root)
    r = run_parity(root, runtime="cpp")
    if r.coverage.ran == 0:  # this edgekit-infer cannot produce detections
        assert r.exit_code == 3 and r.verdict == "not verified" and not r.in_sync, r.summary()
        assert r.summary().startswith("not verified: cpp failed on 5/5 golden items: edgekit-infer")
        assert "detection" in r.summary()
        assert r.coverage.stages == 0 and r.coverage.postprocess == 0 and r.detection is None
        p = _cli(str(root), "--runtime", "cpp", "--json", str(tmp_path / "r.json"))
        assert p.returncode == 3, p.stdout + p.stderr
        rep = json.loads((tmp_path / "r.json").read_text())
        assert rep["verdict"] == "not verified" and rep["verified_items"] == 0
        assert "detection_benchmark" not in rep
    else:  # det-cpp's edgekit-infer: the real C++ vs Python benchmark
        _det_in_sync(r)


def test_manifest_labels_count_class_channels(det_bundle_session: Path) -> None:
    b = B.load(det_bundle_session)
    assert b.manifest.task == "detection" and len(b.labels()) == b.manifest.outputs[0].shape[1] - 4


# -- localization on an anchor-free grid (the Ultralytics layout), without a bundle -------------------------


def _grid_row() -> np.ndarray:
    """[1, 4 + 2, 6]: six cxcywh boxes in input pixels with raw (already sigmoided) class scores."""
    a = np.zeros((1, 6, 6), np.float32)
    for k in range(6):
        a[0, :4, k] = [10 + 20 * k, 12 + 9 * k, 8 + k, 6 + 2 * k]
        a[0, 4 + k % 2, k] = 0.9 - 0.05 * k
    return a


def _item(row: np.ndarray, train: DetectionPostprocess, device: DetectionPostprocess) -> localize.DetItem:
    exp = detect(row, train, ["a", "b"])[0]
    got = detect(row, device, ["a", "b"])[0]
    assert not compare.detections(exp, got, DET_SAME_OUTPUT, train.score_threshold, train.score_margin).ok
    return localize.DetItem("x", row, (64, 64), exp, got)


GRID = DetectionPostprocess(encoding="anchor_free_grid", box_format="cxcywh", score_activation="none",
                            coordinates="input")  # fmt: skip


@pytest.mark.parametrize(
    ("device", "step", "phrase"),
    [
        (
            {"box_format": "xyxy"},
            "postprocess.box_format",
            "as cxcywh",
        ),
        ({"max_detections": 2}, "postprocess.max_detections", "keeps at most 2 (training 100)"),
        ({"class_agnostic": True, "nms_iou": 0.01}, "postprocess.detections", "not explained"),
    ],
)
def test_grid_device_defects_are_named(device: dict, step: str, phrase: str) -> None:
    row = _grid_row()
    if device.get("class_agnostic"):  # overlapping boxes of two classes: only class-agnostic NMS drops one
        row[0, :4, 1] = row[0, :4, 0]
    it = _item(row, GRID, GRID.model_copy(update=device))
    where, cause = localize.diagnose_detections([it], GRID, GRID, PreprocessSpec.model_validate(SPEC),
                                                ["a", "b"], DET_SAME_OUTPUT)  # fmt: skip
    assert where == step and phrase in cause, (where, cause)
