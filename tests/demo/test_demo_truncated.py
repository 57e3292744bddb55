"""Truncated streams (issue 13 item 11): a real FFV1/MJPG video cut off by bytes ends the demo with exit 5
and "stream ended at frame N of 60" (both runners); a stream that states no frame count ends normally and
the summary says how many frames were read and how it ended."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.demo.conftest import camera_app, run_cli, write_video

RUNNERS = ["python", pytest.param("cpp", marks=pytest.mark.cpp)]
N = 60


def _frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(n)]


@pytest.fixture(scope="module", params=[(".avi", "MJPG"), (".mkv", "FFV1")], ids=["mjpg", "ffv1"])
def videos(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    suffix, fourcc = request.param
    d = tmp_path_factory.mktemp(f"trunc-{fourcc}")
    full = write_video(d / f"full{suffix}", _frames(N), fourcc=fourcc)
    cut = d / f"cut{suffix}"
    data = full.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.3)])  # cut off mid-stream: the header still says 60 frames
    return full, cut


def _need(runner: str) -> None:
    if runner == "cpp" and camera_app() is None:
        pytest.skip("edgekit-camera is not built (tools/setup.sh)")


def _summary(stdout: str) -> dict:
    last = json.loads(stdout.strip().splitlines()[-1])
    assert last["type"] == "summary"
    return last


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_cut_video_is_an_error_naming_the_frame(
    runner: str, videos: tuple[Path, Path], tiny_bundle_session: Path, tmp_path: Path
) -> None:
    _need(runner)
    _, cut = videos
    out, lines = tmp_path / "o.avi", tmp_path / "l.jsonl"
    r = run_cli(str(tiny_bundle_session), "-s", str(cut), "--headless", "--runner", runner,
                "--output", str(out), "--json", str(lines))
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 5, r.stderr
    assert len(err) == 1 and "Traceback" not in r.stderr, r.stderr
    assert f" of {N} " in err[0] and "stream ended at frame" in err[0] and "fix:" in err[0]
    n = int(err[0].split("stream ended at frame ")[1].split()[0])
    assert 0 < n < N
    assert list(tmp_path.iterdir()) == []  # no partial video, no partial JSON lines


@pytest.mark.parametrize("runner", RUNNERS)
def test_the_whole_video_ends_normally_with_its_count(
    runner: str, videos: tuple[Path, Path], tiny_bundle_session: Path
) -> None:
    _need(runner)
    full, _ = videos
    r = run_cli(str(tiny_bundle_session), "-s", str(full), "--headless", "--runner", runner)
    assert r.returncode == 0, r.stderr
    s = _summary(r.stdout)
    assert (s["stopped"], s["frames"], s["frames_read"], s["frames_expected"]) == ("end", N, N, N)
    assert s["ended"] == f"end of stream after all {N} frames the container states"


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_stream_without_a_count_reports_what_was_read(
    runner: str, tiny_bundle_session: Path, tmp_path: Path
) -> None:
    """Raw MJPEG states no frame count: the run ends normally and says so, with the frames it read."""
    _need(runner)
    raw = write_video(tmp_path / "raw.mjpeg", _frames(20), fourcc="MJPG")
    r = run_cli(str(tiny_bundle_session), "-s", str(raw), "--headless", "--runner", runner)
    assert r.returncode == 0, r.stderr
    s = _summary(r.stdout)
    assert (s["stopped"], s["frames_read"], s["frames_expected"]) == ("end", 20, None)
    assert s["ended"] == "end of stream after 20 frames (the source states no frame count)"


@pytest.mark.parametrize("runner", RUNNERS)
def test_frames_limit_on_a_cut_video_is_not_an_error(
    runner: str, videos: tuple[Path, Path], tiny_bundle_session: Path
) -> None:
    """The fix the error names: --frames N uses only the first N frames."""
    _need(runner)
    _, cut = videos
    r = run_cli(str(tiny_bundle_session), "-s", str(cut), "--headless", "--runner", runner, "--frames", "3")
    assert r.returncode == 0, r.stderr
    assert _summary(r.stdout)["stopped"] == "frames"
