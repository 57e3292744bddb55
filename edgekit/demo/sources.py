"""Camera / video sources named by URI (like jetson-inference) and their OpenCV capture.

URIs:

* ``csi://N``                 MIPI CSI sensor N through the device profile's GStreamer pipeline
                              (``profile.camera.csi_pipeline`` with ``{sensor_id}``); needs GStreamer.
* ``v4l2:///dev/videoN``, ``/dev/videoN``, ``v4l2://N``   a V4L2 camera.
* ``rtsp://host[:port]/path``, ``http(s)://...``          a network stream (FFmpeg).
* ``file://path`` or a plain path to a video file          a video file (FFmpeg).
* ``file://dir`` or a plain path to a folder               the folder's images in name order.

Every source yields BGR uint8 HxWx3 frames (images in a folder are read with ``IMREAD_COLOR``), so one
conversion rule covers all of them (see ``edgekit.demo.runner.frame_to_decoded``). Live sources (camera,
network) may drop stale frames; files and folders never do unless asked (``realtime``).

Exit codes shared with the C++ app ``edgekit-camera``: 2 malformed URI / bad argument, 3 source cannot be
opened (missing file, no such device), 4 a live source was lost and did not come back, 5 a file ended
before the frame count its container states (truncated or damaged).
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np

from edgekit.errors import EdgekitError, InputError

Kind = Literal["csi", "v4l2", "stream", "file", "images"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


class SourceURIError(InputError):
    """A source URI that cannot be parsed."""

    exit_code = 2


class SourceOpenError(EdgekitError):
    """A source that does not exist or cannot be opened."""

    exit_code = 3


class SourceLostError(EdgekitError):
    """A live source that disappeared and did not come back within the retries."""

    exit_code = 4


class SourceTruncatedError(EdgekitError):
    """A video file that ended before the frame count its container states."""

    exit_code = 5


@dataclass(frozen=True)
class Source:
    uri: str
    kind: Kind
    target: str  # device path, pipeline, URL, file or folder
    index: int | None = None  # sensor id / video device number

    @property
    def live(self) -> bool:
        return self.kind in ("csi", "v4l2", "stream")


def _fix() -> str:
    return "use csi://N, v4l2:///dev/videoN, rtsp://host/path, file://clip.avi, a video or an image folder"


def parse_uri(uri: str, csi_pipeline: str | None = None, profile_name: str = "cpu") -> Source:
    """Parse a source URI. Files are checked for existence here (fail fast, naming the URI)."""
    u = uri.strip()
    if not u:
        raise SourceURIError("the source URI is empty", _fix())
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", u)
    scheme, rest = (m.group(1).lower(), m.group(2)) if m else ("", u)
    if scheme == "csi":
        if not re.fullmatch(r"\d{1,6}", rest):
            raise SourceURIError(
                f"malformed source URI '{uri}': csi:// takes a sensor number", "e.g. csi://0"
            )
        if not csi_pipeline:
            raise SourceURIError(
                f"source '{uri}' needs a CSI pipeline but device profile '{profile_name}' has none",
                "pass --device with a Jetson profile, or use v4l2:///dev/videoN",
            )
        if "{sensor_id}" not in csi_pipeline:
            raise SourceURIError(
                f"device profile '{profile_name}' camera.csi_pipeline has no {{sensor_id}} placeholder",
                "add sensor-id={sensor_id} to the pipeline in device_configs",
            )
        return Source(uri, "csi", csi_pipeline.replace("{sensor_id}", rest), int(rest))
    if scheme == "v4l2" or (not scheme and u.startswith("/dev/video")):
        dev = rest if scheme else u
        if re.fullmatch(r"\d{1,6}", dev):
            dev = f"/dev/video{dev}"
        mm = re.fullmatch(r"/dev/video(\d{1,6})", dev)
        if not mm:
            raise SourceURIError(
                f"malformed source URI '{uri}': expected a /dev/videoN device", "e.g. v4l2:///dev/video0"
            )
        return Source(uri, "v4l2", dev, int(mm.group(1)))
    if scheme in ("rtsp", "rtsps", "http", "https", "rtmp"):
        if not re.match(r"^[^/\s?#]+", rest):
            raise SourceURIError(
                f"malformed source URI '{uri}': no host", f"e.g. {scheme}://camera.local:554/stream"
            )
        return Source(uri, "stream", u)
    if scheme and scheme != "file":
        raise SourceURIError(f"malformed source URI '{uri}': unknown scheme '{scheme}://'", _fix())
    path = Path(rest if scheme == "file" else u).expanduser()
    if not str(rest if scheme == "file" else u):
        raise SourceURIError(f"malformed source URI '{uri}': no path", "e.g. file:///data/clip.avi")
    if path.is_dir():
        if not list_images(path):
            raise SourceOpenError(
                f"source '{uri}': folder {path} has no images", f"put {'/'.join(IMAGE_SUFFIXES)} files in it"
            )
        return Source(uri, "images", str(path))
    if not path.exists():
        raise SourceOpenError(f"source '{uri}': file {path} does not exist", "check the path")
    if not path.is_file():
        raise SourceOpenError(
            f"source '{uri}': {path} is not a regular file", "pass a video file or a folder"
        )
    return Source(uri, "file", str(path))


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


class Reader(Protocol):
    fps: float
    frame_count: int  # frames the container states; 0 when it does not say (streams, cameras)

    def read(self) -> np.ndarray | None: ...

    def release(self) -> None: ...


class VideoReader:
    """cv2.VideoCapture over a file, device, stream or GStreamer pipeline."""

    def __init__(self, src: Source, width: int = 0, height: int = 0) -> None:
        api = {
            "csi": cv2.CAP_GSTREAMER,
            "v4l2": cv2.CAP_V4L2,
            "stream": cv2.CAP_FFMPEG,
            "file": cv2.CAP_FFMPEG,
        }[src.kind]
        if src.kind == "csi" and "GStreamer:                   YES" not in cv2.getBuildInformation():
            raise SourceOpenError(
                f"source '{src.uri}': OpenCV {cv2.__version__} here lacks GStreamer, needed for CSI cameras",
                "run the C++ app edgekit-camera (system OpenCV with GStreamer) or use v4l2:///dev/videoN",
            )
        target: str | int = src.index if src.kind == "v4l2" and src.index is not None else src.target
        self.cap = cv2.VideoCapture(target, api)
        if not self.cap.isOpened():
            self.cap.release()
            what = {"v4l2": "no such camera or it is busy", "stream": "the stream did not answer"}.get(
                src.kind, "it cannot be opened"
            )
            fix = {
                "v4l2": "check `ls /dev/video*` and that no other program holds the camera",
                "csi": "check the sensor number and that nvargus-daemon runs",
                "stream": "check the URL and that the server is reachable",
                "file": "check that the file is a video (MJPG/FFV1/H.264 in .avi/.mkv/.mp4)",
            }[src.kind]
            raise SourceOpenError(f"source '{src.uri}': {what}", fix)
        if src.kind == "v4l2" and width and height:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.0 < fps <= 240.0 else 0.0
        n = float(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0) if src.kind == "file" else 0.0
        self.frame_count = int(n) if math.isfinite(n) and 0 < n < 2**31 else 0

    def read(self) -> np.ndarray | None:
        ok, frame = self.cap.read()
        if not ok or frame is None:
            return None
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return frame

    def release(self) -> None:
        self.cap.release()


class ImageFolderReader:
    """The images of a folder in name order, each read as BGR (IMREAD_COLOR)."""

    fps = 0.0

    def __init__(self, src: Source) -> None:
        self.src = src
        self.files = list_images(Path(src.target))
        self.pos = 0
        self.frame_count = len(self.files)

    def read(self) -> np.ndarray | None:
        while self.pos < len(self.files):
            p = self.files[self.pos]
            self.pos += 1
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is not None:
                return img
            raise InputError(
                f"source '{self.src.uri}': cannot decode image {p.name}", "remove or fix that file"
            )
        return None

    def release(self) -> None:
        self.pos = len(self.files)


def quiet_opencv() -> None:
    """OpenCV's own warnings (e.g. a failed V4L2/GStreamer open) would bury the one clear error line:
    errors only, unless the user set OPENCV_LOG_LEVEL."""
    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    # FFmpeg's own lines ("File ended prematurely", "overread 8") too: the runner reports how a file ended
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def open_source(src: Source, width: int = 0, height: int = 0) -> Reader:
    quiet_opencv()
    return ImageFolderReader(src) if src.kind == "images" else VideoReader(src, width, height)


# -- the capture thread --------------------------------------------------------------------------------


@dataclass
class Frame:
    index: int  # index in capture order (counts dropped frames too)
    image: np.ndarray
    t_capture: float  # time.monotonic() when read() returned
    capture_ms: float  # time spent in read()
    capture_cpu_ms: float = 0.0  # CPU time of the capture thread in read()
    # Filled by the ``prepare`` callback on the capture thread (the pipelined demo: preprocessing of frame
    # n+1 overlaps inference of frame n on the consumer thread).
    tensor: np.ndarray | None = None
    t_pre0: float = 0.0  # time.monotonic() around prepare (0.0 without one)
    t_pre1: float = 0.0
    preprocess_ms: float = 0.0
    preprocess_cpu_ms: float = 0.0


@dataclass
class CaptureStats:
    captured: int = 0
    dropped: int = 0
    reconnects: int = 0
    events: list[str] = field(default_factory=list)


_END = object()


class CaptureThread(threading.Thread):
    """Reads frames on its own thread into a bounded queue.

    ``drop_stale``: when the queue is full the oldest frame is dropped so the consumer always gets the
    newest (live sources, and files with ``--realtime``); otherwise the reader waits (files: no drops).
    ``pace_fps`` > 0 sleeps between reads to play a file at its own rate (``--realtime``).
    A live source that stops delivering is reopened with exponential backoff (``retries`` times,
    from ``backoff_s``); each attempt is reported through ``on_event``.
    ``prepare`` (the demo's preprocessing) runs on this thread for every frame read, before it is queued,
    timed (wall and thread CPU) into the frame; an exception there ends the capture and reaches the consumer.
    """

    def __init__(
        self,
        opener: Callable[[], Reader],
        reader: Reader,
        live: bool,
        drop_stale: bool,
        queue_size: int = 2,
        pace_fps: float = 0.0,
        retries: int = 5,
        backoff_s: float = 0.5,
        on_event: Callable[[str], None] | None = None,
        prepare: Callable[[Frame], None] | None = None,
    ) -> None:
        super().__init__(name="edgekit-capture", daemon=True)
        self.opener, self.reader, self.live = opener, reader, live
        self.drop_stale, self.queue_size, self.pace_fps = drop_stale, max(1, queue_size), pace_fps
        self.retries, self.backoff_s = retries, backoff_s
        self.on_event = on_event or (lambda _msg: None)
        self.prepare = prepare
        self.stop_event = threading.Event()
        self.stats = CaptureStats()
        self.error: BaseException | None = None
        self._items: list[object] = []
        self._cond = threading.Condition()

    # consumer side
    def get(self, timeout: float = 0.1) -> Frame | None | object:
        """The next frame; None on timeout; ``CaptureThread.END`` when the source is exhausted or stopped."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            if not self._items:
                return None
            item = self._items.pop(0)
            self._cond.notify_all()
            return item

    END = _END

    def stop(self) -> None:
        self.stop_event.set()
        with self._cond:
            self._cond.notify_all()

    # producer side
    def _put(self, item: object) -> None:
        with self._cond:
            while len(self._items) >= self.queue_size and not self.stop_event.is_set():
                if self.drop_stale and item is not _END:
                    self._items.pop(0)
                    self.stats.dropped += 1
                    break
                self._cond.wait(0.1)
            self._items.append(item)
            self._cond.notify_all()

    def _event(self, msg: str) -> None:
        self.stats.events.append(msg)
        self.on_event(msg)

    def _reconnect(self) -> bool:
        self.reader.release()
        delay = self.backoff_s
        for attempt in range(1, self.retries + 1):
            self._event(f"source lost; reconnect attempt {attempt}/{self.retries} in {delay:.2f} s")
            if self.stop_event.wait(delay):
                return False
            try:
                self.reader = self.opener()
            except EdgekitError:
                delay = min(delay * 2, 8.0)
                continue
            self.stats.reconnects += 1
            self._event(f"source back after {attempt} attempt(s)")
            return True
        return False

    def run(self) -> None:
        idx = 0
        next_t = time.monotonic()
        try:
            while not self.stop_event.is_set():
                if self.pace_fps > 0:
                    now = time.monotonic()
                    if next_t > now:
                        time.sleep(next_t - now)
                    next_t = max(next_t + 1.0 / self.pace_fps, time.monotonic() - 1.0)
                c0 = time.thread_time()
                t0 = time.monotonic()
                img = self.reader.read()
                t1 = time.monotonic()
                c1 = time.thread_time()
                if img is None:
                    if self.live and not self.stop_event.is_set():
                        if self._reconnect():
                            continue
                        if not self.stop_event.is_set():
                            raise SourceLostError(
                                "live source stopped delivering frames and did not come back "
                                f"after {self.retries} attempts",
                                "check the camera cable / network, then restart",
                            )
                    break
                self.stats.captured += 1
                fr = Frame(idx, img, t1, (t1 - t0) * 1000.0, (c1 - c0) * 1000.0)
                if self.prepare is not None:
                    fr.t_pre0 = time.monotonic()
                    self.prepare(fr)
                    fr.t_pre1 = time.monotonic()
                    fr.preprocess_ms = (fr.t_pre1 - fr.t_pre0) * 1000.0
                    fr.preprocess_cpu_ms = (time.thread_time() - c1) * 1000.0
                self._put(fr)
                idx += 1
        except BaseException as exc:  # handed to the consumer, re-raised there
            self.error = exc
        finally:
            self.reader.release()
            with self._cond:
                self._items.append(_END)
                self._cond.notify_all()
