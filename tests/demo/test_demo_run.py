"""`edgekit demo` end to end on a real video of held-out digits: C++ runner when built, Python always."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.demo.conftest import N_FRAMES, REPO, DigitsVideo, camera_app, run_cli

RUNNERS = ["python", pytest.param("cpp", marks=pytest.mark.cpp)]


def _need(runner: str) -> None:
    if runner == "cpp" and camera_app() is None:
        pytest.skip("edgekit-camera is not built (tools/setup.sh builds cpp_runtime/build)")


def _env(runner: str) -> dict[str, str]:
    app = camera_app()
    return {"EDGEKIT_CAMERA_BIN": str(app)} if runner == "cpp" and app else {}


def _records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


FRAME_KEYS = {"type", "frame", "t", "ms", "cpu_ms", "span", "fps"}
SUMMARY_KEYS = {
    "type", "runner", "source", "model", "frames", "dropped", "reconnects", "elapsed_s", "fps", "ms_mean",
    "cpu_ms_mean", "cpu_s", "task", "threads", "pipelined", "stopped", "frames_read", "frames_expected",
    "ended", "output",
}  # fmt: skip


@pytest.mark.parametrize("runner", RUNNERS)
def test_headless_video_predictions_output_and_json(
    runner: str, digits_video: DigitsVideo, tiny_bundle_session: Path, tmp_path: Path
) -> None:
    _need(runner)
    out = tmp_path / "annotated.avi"
    r = run_cli(
        str(tiny_bundle_session),
        "--source",
        str(digits_video.path),
        "--headless",
        "--output",
        str(out),
        "--runner",
        runner,
        "--threads",
        "1",
        env=_env(runner),
    )
    assert r.returncode == 0, r.stderr
    recs = _records(r.stdout)
    frames = [x for x in recs if x["type"] == "frame"]
    summary = recs[-1]
    assert summary["type"] == "summary" and summary["runner"] == runner
    assert summary["frames"] == N_FRAMES and summary["dropped"] == 0 and summary["stopped"] == "end"
    assert [f["frame"] for f in frames] == list(range(N_FRAMES))  # a file source never drops
    for f in frames:
        assert set(f) == FRAME_KEYS | {"topk"}  # the schema of runner.py's module doc, both runners
        assert set(f["ms"]) == {"capture", "preprocess", "infer", "draw", "total", "latency"}
        assert set(f["cpu_ms"]) == {"capture", "preprocess", "infer", "draw"}
        assert all(v >= 0 for v in f["cpu_ms"].values()) and f["cpu_ms"]["preprocess"] > 0
        pre, inf = f["span"]["preprocess"], f["span"]["infer"]
        assert pre[0] <= pre[1] <= inf[0] <= inf[1]  # a frame is preprocessed before it is inferred
        assert len(f["topk"]) == 5 and f["topk"][0]["score"] >= f["topk"][1]["score"]
    assert set(summary) >= SUMMARY_KEYS and summary["pipelined"] is True
    assert summary["task"] == "classification" and summary["threads"] == 1 and summary["cpu_s"] > 0
    top1 = np.array([f["topk"][0]["class"] for f in frames])
    # Lossless video, 224 = 8 x 28 with INTER_AREA: every frame gives the original digit's prediction.
    assert np.array_equal(top1, digits_video.reference)
    acc = float((top1 == digits_video.labels).mean())
    assert acc >= digits_video.accuracy - 0.10, (acc, digits_video.accuracy)
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == N_FRAMES and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 224
    assert not list(tmp_path.glob(".*partial*"))  # the temporary file was renamed


@pytest.mark.cpp
def test_cpp_and_python_runners_agree(
    digits_video: DigitsVideo, tiny_bundle_session: Path, tmp_path: Path
) -> None:
    _need("cpp")
    res = {}
    for runner in ("python", "cpp"):
        j = tmp_path / f"{runner}.jsonl"
        r = run_cli(
            str(tiny_bundle_session),
            "--source",
            str(digits_video.path),
            "--json",
            str(j),
            "--headless",
            "--runner",
            runner,
            env=_env(runner),
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == ""  # with --json FILE the lines go to the file only
        res[runner] = [x for x in _records(j.read_text()) if x["type"] == "frame"]
    assert len(res["python"]) == len(res["cpp"]) == N_FRAMES
    for p, c in zip(res["python"], res["cpp"], strict=True):
        assert [t["class"] for t in p["topk"]] == [t["class"] for t in c["topk"]]
        assert abs(p["topk"][0]["score"] - c["topk"][0]["score"]) < 1e-4


@pytest.mark.parametrize("runner", RUNNERS)
def test_frames_limit_and_image_folder(runner: str, tiny_bundle_session: Path, tmp_path: Path) -> None:
    _need(runner)
    j = tmp_path / "g.jsonl"
    r = run_cli(
        str(tiny_bundle_session),
        "--source",
        str(tiny_bundle_session / "golden"),
        "--frames",
        "5",
        "--json",
        str(j),
        "--runner",
        runner,
        env=_env(runner),
    )
    assert r.returncode == 0, r.stderr
    recs = _records(j.read_text())
    assert recs[-1]["frames"] == 5 and recs[-1]["stopped"] == "frames"
    manifest = json.loads((tiny_bundle_session / "manifest.json").read_text())
    labels = [g["label"] for g in manifest["golden"]][:5]
    got = [x["topk"][0]["class"] for x in recs if x["type"] == "frame"]
    assert sum(a == b for a, b in zip(got, labels, strict=True)) >= 4


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize(
    "uri, code, words",
    [
        ("{tmp}/missing.avi", 3, "does not exist"),
        ("v4l2:///dev/video97", 3, "no such camera"),
        ("bogus://cam", 2, "malformed source URI 'bogus://cam'"),
        ("csi://0", 2, "has none"),  # the cpu profile has no CSI pipeline
    ],
)
def test_bad_sources_fail_fast_with_one_clear_line(
    runner: str, uri: str, code: int, words: str, tiny_bundle_session: Path, tmp_path: Path
) -> None:
    _need(runner)
    uri = uri.format(tmp=tmp_path)
    out = tmp_path / "o.avi"
    t0 = time.monotonic()
    r = run_cli(
        str(tiny_bundle_session),
        "--source",
        uri,
        "--headless",
        "--output",
        str(out),
        "--runner",
        runner,
        env=_env(runner),
    )
    assert r.returncode == code, (r.returncode, r.stderr)
    assert words in r.stderr and "fix:" in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1, r.stderr  # one clear line
    assert uri.split("/")[-1] in r.stderr or uri in r.stderr
    assert time.monotonic() - t0 < 30
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.parametrize("runner", RUNNERS)
def test_sigint_stops_cleanly_and_keeps_a_valid_video(
    runner: str, digits_video: DigitsVideo, tiny_bundle_session: Path, tmp_path: Path
) -> None:
    """--realtime plays the 6 s clip at 10 FPS; Ctrl-C after ~1.5 s ends it cleanly."""
    _need(runner)
    out, j = tmp_path / "live.avi", tmp_path / "live.jsonl"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", **_env(runner)}
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgekit.cli",
            "demo",
            str(tiny_bundle_session),
            "--source",
            str(digits_video.path),
            "--realtime",
            "--headless",
            "--output",
            str(out),
            "--json",
            str(j),
            "--runner",
            runner,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".*partial*")) and time.monotonic() < deadline:  # running: temp files exist
        time.sleep(0.1)
    time.sleep(1.5)
    os.killpg(p.pid, signal.SIGINT)  # like Ctrl-C in a terminal: the whole foreground group
    _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    recs = _records(j.read_text())
    s = recs[-1]
    assert s["stopped"] == "signal" and 3 <= s["frames"] < N_FRAMES
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == s["frames"]


@pytest.mark.parametrize("runner", RUNNERS)
def test_csi_camera_that_is_not_there_fails_fast(runner: str, tiny_bundle_session: Path) -> None:
    """csi://0 with a Jetson profile's pipeline: the Python wheel has no GStreamer; the C++ app's GStreamer
    has no nvarguscamerasrc here. Either way: exit 3, one line naming the URI, no OpenCV warning noise."""
    _need(runner)
    r = run_cli(
        str(tiny_bundle_session),
        "--source",
        "csi://0",
        "--device",
        "jetson-orin-nano",
        "--headless",
        "--runner",
        runner,
        env=_env(runner),
    )
    assert r.returncode == 3, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "csi://0" in lines[0] and "fix:" in lines[0], r.stderr
