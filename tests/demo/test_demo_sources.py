"""Source URIs and the capture thread, on real OpenCV video files."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgekit.demo.sources import (
    CaptureThread,
    Frame,
    SourceLostError,
    SourceOpenError,
    SourceURIError,
    open_source,
    parse_uri,
)
from tests.demo.conftest import write_video

PIPE = "nvarguscamerasrc sensor-id={sensor_id} ! appsink"


@pytest.fixture(scope="module")
def ramp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 frames, frame k filled with 10*k (FFV1: lossless)."""
    frames = [np.full((48, 64, 3), 10 * k, np.uint8) for k in range(16)]
    return write_video(tmp_path_factory.mktemp("ramp") / "ramp.mkv", frames)


def test_uri_kinds(ramp: Path, tmp_path: Path) -> None:
    s = parse_uri("csi://1", PIPE, "jetson-orin-nano")
    assert (s.kind, s.index, s.live) == ("csi", 1, True) and "sensor-id=1 " in s.target
    for uri, dev in (
        ("v4l2:///dev/video3", "/dev/video3"),
        ("/dev/video0", "/dev/video0"),
        ("v4l2://2", "/dev/video2"),
    ):
        s = parse_uri(uri)
        assert (s.kind, s.target, s.live) == ("v4l2", dev, True)
    assert parse_uri("rtsp://cam.local:554/live").kind == "stream"
    assert parse_uri(str(ramp)).kind == "file" and not parse_uri(str(ramp)).live
    assert parse_uri(f"file://{ramp}").target == str(ramp)
    cv2.imwrite(str(tmp_path / "b.png"), np.full((8, 8), 7, np.uint8))
    cv2.imwrite(str(tmp_path / "a.png"), np.full((8, 8), 3, np.uint8))
    s = parse_uri(str(tmp_path))
    assert s.kind == "images"
    r = open_source(s)
    first = r.read()
    assert first is not None and first.shape == (8, 8, 3) and first[0, 0, 0] == 3  # name order, BGR


@pytest.mark.parametrize(
    "uri, err",
    [
        ("", SourceURIError),
        ("csi://zero", SourceURIError),
        ("csi://99999999999999999999", SourceURIError),
        ("v4l2:///dev/camera", SourceURIError),
        ("rtsp://", SourceURIError),
        ("bogus://x", SourceURIError),
        ("/no/such/clip.avi", SourceOpenError),
        ("file:///no/such/clip.avi", SourceOpenError),
    ],
)
def test_bad_uris_name_the_uri_and_a_fix(uri: str, err: type) -> None:
    with pytest.raises(err) as ei:
        parse_uri(uri, PIPE)
    assert getattr(ei.value, "fix", None) and (
        uri.strip() == "" or uri in str(ei.value) or "/no/such/clip.avi" in str(ei.value)
    )


def test_csi_needs_a_profile_pipeline() -> None:
    with pytest.raises(SourceURIError, match="device profile 'cpu' has none"):
        parse_uri("csi://0", None, "cpu")


def test_unopenable_device_and_non_video_file(tmp_path: Path) -> None:
    with pytest.raises(SourceOpenError, match="video97"):
        open_source(parse_uri("v4l2:///dev/video97"))
    junk = tmp_path / "junk.avi"
    junk.write_text("not a video")
    with pytest.raises(SourceOpenError, match="junk.avi"):
        open_source(parse_uri(str(junk)))


def _drain(cap: CaptureThread, delay: float = 0.0) -> list[Frame]:
    out: list[Frame] = []
    while True:
        item = cap.get(1.0)
        if item is CaptureThread.END:
            if cap.error:
                raise cap.error
            return out
        if isinstance(item, Frame):
            out.append(item)
            time.sleep(delay)


def test_file_source_never_drops(ramp: Path) -> None:
    src = parse_uri(str(ramp))
    cap = CaptureThread(
        lambda: open_source(src), open_source(src), live=False, drop_stale=False, queue_size=2
    )
    cap.start()
    frames = _drain(cap, delay=0.005)  # a slow consumer: the reader must wait
    assert [f.index for f in frames] == list(range(16))
    assert [int(f.image[10, 10, 1]) for f in frames] == [10 * k for k in range(16)]
    assert cap.stats.dropped == 0


def test_drop_stale_keeps_the_newest(ramp: Path) -> None:
    src = parse_uri(str(ramp))
    cap = CaptureThread(lambda: open_source(src), open_source(src), live=False, drop_stale=True, queue_size=1)
    cap.start()
    time.sleep(0.3)  # the reader runs ahead of a stalled consumer
    frames = _drain(cap)
    assert frames[-1].index == 15 and cap.stats.dropped > 0
    assert len(frames) + cap.stats.dropped == 16


def test_live_source_reconnects_with_backoff_then_reports_loss(ramp: Path) -> None:
    """The file played as a 'live' source: its end is a disappearance. One reopen works, then none."""
    src = parse_uri(str(ramp))
    opens = 0

    def opener():  # type: ignore[no-untyped-def]
        nonlocal opens
        opens += 1
        if opens > 1:
            raise SourceOpenError("gone", "plug it back")
        return open_source(src)

    events: list[str] = []
    cap = CaptureThread(
        opener,
        open_source(src),
        live=True,
        drop_stale=False,
        queue_size=64,
        retries=3,
        backoff_s=0.05,
        on_event=events.append,
    )
    cap.start()
    with pytest.raises(SourceLostError, match="after 3 attempts"):
        _drain(cap)
    assert cap.stats.captured == 32 and cap.stats.reconnects == 1
    assert len(events) == 5 and "back after 1" in events[1] and "3/3" in events[-1]
    delays = [e.split(" in ")[1] for e in events if "attempt " in e and " in " in e]
    assert delays == ["0.05 s", "0.05 s", "0.10 s", "0.20 s"]  # exponential backoff after each failure
