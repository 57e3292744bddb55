"""The pipelined demo runners (capture+preprocess thread -> one inference thread) and detection output.

Overlap is shown by the timestamps the runner records itself (the ``span`` of every JSON line), never by
wall-clock speed thresholds. Detection runs a hand-set detector (tests/fixtures/demo_bundles.py, kind
``blob``) on a real FFV1 video of a bright square moving over a dark frame, so every box is known exactly.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgekit.demo import overlay
from edgekit.demo.runner import Classifier, DemoOptions, run_demo
from edgekit.detect.postprocess import Detection
from tests.demo.conftest import DigitsVideo, camera_app, run_cli, write_video

W, H, SQ = 320, 240, 40  # letterbox to 64x64: scale 1/5, 8 rows of padding on top; a square = one cell
CELLS = [(2, 1), (2, 3), (3, 5), (4, 2), (5, 6), (3, 4)]  # (row, col) of the network-input cell per frame


def _lines(p: Path) -> list[dict]:
    return [json.loads(s) for s in p.read_text().splitlines() if s.strip()]


def test_preprocess_of_the_next_frame_overlaps_inference(
    digits_video: DigitsVideo, tiny_bundle_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow model (inference delayed by 30 ms, the real ONNX Runtime session still runs): in a pipelined
    runner frame n+1 is read and preprocessed while frame n is inferred; a sequential one never could."""
    real = Classifier.__call__

    def slow(self: Classifier, x: np.ndarray) -> list[tuple[int, float]]:
        time.sleep(0.03)
        return real(self, x)

    monkeypatch.setattr(Classifier, "__call__", slow)
    j = tmp_path / "lines.jsonl"
    opts = DemoOptions(tiny_bundle_session, str(digits_video.path), headless=True, frames=12, json_path=j,
                       threads=1)  # fmt: skip
    summary = run_demo(opts)
    frames = [x for x in _lines(j) if x["type"] == "frame"]
    assert summary["frames"] == 12 and [f["frame"] for f in frames] == list(range(12))
    for f in frames:  # order preserved: each frame's top-1 is its own digit's
        assert f["topk"][0]["class"] == digits_video.reference[f["frame"]]
        assert f["ms"]["infer"] >= 30.0
    overlaps = [
        b["span"]["preprocess"][0] < a["span"]["infer"][1] for a, b in zip(frames, frames[1:], strict=False)
    ]
    assert all(overlaps), overlaps
    # the inference thread spent its CPU on inference, not on preprocessing: preprocess CPU is the
    # capture thread's (the spans of one frame never interleave)
    for f in frames:
        assert f["span"]["preprocess"][1] <= f["span"]["infer"][0]


@pytest.fixture(scope="module")
def blob_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.fixtures.demo_bundles import make_bundle

    return make_bundle(tmp_path_factory.mktemp("det") / "blob", "blob")


@pytest.fixture(scope="module")
def square_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[float, float]]]:
    frames, centres = [], []
    for r, c in CELLS:
        img = np.full((H, W, 3), 20, np.uint8)
        x0, y0 = 5 * 8 * c, 5 * (8 * r - 8)
        img[y0 : y0 + SQ, x0 : x0 + SQ] = 255
        frames.append(img)
        centres.append((x0 + SQ / 2, y0 + SQ / 2))
    return write_video(tmp_path_factory.mktemp("sq") / "square.mkv", frames), centres


def _check_boxes(frames: list[dict], centres: list[tuple[float, float]]) -> None:
    assert len(frames) == len(CELLS)
    for f, (cx, cy) in zip(frames, centres, strict=True):
        assert "topk" not in f
        assert len(f["detections"]) == 1, f["detections"]
        d = f["detections"][0]
        assert set(d) == {"box", "score", "class_id", "label"}
        x1, y1, x2, y2 = d["box"]
        # the cell's 16x16 input box (+-8 px around its centre) back in frame pixels: 80x80 on the square
        assert (x1 + x2) / 2 == pytest.approx(cx, abs=0.5) and (y1 + y2) / 2 == pytest.approx(cy, abs=0.5)
        assert x2 - x1 == pytest.approx(80, abs=0.5) and y2 - y1 == pytest.approx(80, abs=0.5)
        assert d["label"] == "blob" and d["class_id"] == 0 and d["score"] > 0.99


def test_detection_json_lines_carry_boxes_and_the_video_shows_them(
    blob_bundle: Path, square_video: tuple[Path, list[tuple[float, float]]], tmp_path: Path
) -> None:
    video, centres = square_video
    out = tmp_path / "annotated.mkv"
    r = run_cli(str(blob_bundle), "--source", str(video), "--headless", "--runner", "python",
                "--threads", "1", "--output", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    recs = [json.loads(s) for s in r.stdout.splitlines() if s.strip()]
    assert recs[-1]["type"] == "summary" and recs[-1]["task"] == "detection"
    frames = [x for x in recs if x["type"] == "frame"]
    _check_boxes(frames, centres)
    cap = cv2.VideoCapture(str(out))  # FFV1: lossless, so drawn pixels are exact
    for f in frames:
        ok, img = cap.read()
        assert ok
        x1, y1, x2, y2 = (int(round(v)) for v in f["detections"][0]["box"])
        assert tuple(img[(y1 + y2) // 2, x1]) == overlay.class_color(0)  # the box's left edge
        assert tuple(img[y2 - 1, (x1 + x2) // 2]) == overlay.class_color(0)  # its bottom edge
    assert not cap.read()[0]


@pytest.mark.cpp
def test_cpp_detection_lines_match_python(
    blob_bundle: Path, square_video: tuple[Path, list[tuple[float, float]]], tmp_path: Path
) -> None:
    app = camera_app()
    if app is None:
        pytest.skip("edgekit-camera is not built (tools/setup.sh builds cpp_runtime/build)")
    video, centres = square_video
    r = run_cli(str(blob_bundle), "--source", str(video), "--headless", "--runner", "cpp", "--threads", "1",
                env={"EDGEKIT_CAMERA_BIN": str(app)})  # fmt: skip
    assert r.returncode == 0, r.stderr
    frames = [json.loads(s) for s in r.stdout.splitlines() if s.strip() and '"frame"' in s]
    _check_boxes([f for f in frames if f["type"] == "frame"], centres)


def test_overlay_draws_boxes_inside_only() -> None:
    img = np.zeros((120, 160, 3), np.uint8)
    d = Detection(box=(40.0, 50.0, 100.0, 110.0), score=0.87, class_id=2, label="two")
    overlay.draw_detections(img, [d])
    inside = img[50:110, 40:100]
    assert np.count_nonzero(inside.max(axis=2)) > 100
    assert tuple(img[80, 40]) == overlay.class_color(2)
    rest = img.copy()
    rest[30:112, 36:110] = 0  # the box, its outline and the label tag above it
    assert np.count_nonzero(rest) == 0, "pixels changed outside the box and its tag"
    blank = np.zeros_like(img)
    overlay.draw_detections(blank, [])
    assert np.count_nonzero(blank) == 0
