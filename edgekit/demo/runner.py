"""The Python demo runner: capture + preprocess (the bundle's spec) -> ONNX Runtime -> top-k or detections
-> overlay, pipelined in two threads.

Pipelining (the same in the C++ app): a capture+preprocess thread (``sources.CaptureThread`` with a
``prepare`` callback) reads a frame and runs the spec on it, feeding a bounded queue of preprocessed tensors
to ONE inference thread (the calling thread: inference, postprocessing, overlay, outputs, JSON lines), so
preprocessing of frame n+1 overlaps inference of frame n. Files never drop (the reader waits on a full
queue); live sources and ``--realtime`` drop the oldest queued frame (already preprocessed) when full.

Behaviour and JSON lines are the same as the C++ app ``edgekit-camera`` (cpp_runtime/apps/camera), which
``edgekit demo`` prefers when it is built. One JSON object per line:

* ``{"type": "frame", "frame": i, "t": s, "topk": [{"class": c, "label": "...", "score": p}, ...],
  "ms": {"capture": ., "preprocess": ., "infer": ., "draw": ., "total": ., "latency": .},
  "cpu_ms": {"capture": ., "preprocess": ., "infer": ., "draw": .},
  "span": {"preprocess": [t0, t1], "infer": [t0, t1]}, "fps": f}``
  ``frame`` is the index in the source (dropped frames keep their number, so gaps show drops); ``t`` is
  the capture time in seconds since the demo started; ``fps`` is the running end-to-end rate.
  A detection bundle (manifest ``task: detection``) has ``"detections": [{"box": [x1, y1, x2, y2],
  "score": s, "class_id": c, "label": "..."}, ...]`` (boxes in the frame's pixels, best first) instead of
  ``topk``. ``ms``: wall milliseconds per stage (``capture``: in read(), ``preprocess``: the spec, both on
  the capture thread; ``infer``: model + postprocessing (top-k / decode + NMS) on the inference thread;
  ``draw``: overlay, video encoding, window); ``total`` is their sum (the work per frame, not its
  latency: the stages overlap); ``latency`` runs from the start of read() to the end of draw, queue
  waits included. ``cpu_ms``: the CPU time of the thread that ran each stage (its thread CPU clock), so a
  stage waiting on a shared CPU shows wall > CPU; ONNX Runtime's own pool threads (``--threads`` > 1) are
  not in ``infer``'s but are in the summary's ``cpu_s``. ``span``: the [start, end] of that frame's
  preprocess and inference in seconds since the demo started (the overlap is visible: frame n+1's
  preprocess starts before frame n's inference ends).
* ``{"type": "event", "t": s, "message": "..."}`` for a lost / reconnected live source.
* ``{"type": "summary", "runner": "python"|"cpp", "source": uri, "model": id, "frames": n, "dropped": d,
  "reconnects": r, "elapsed_s": s, "fps": f, "ms_mean": {...}, "cpu_ms_mean": {...}, "cpu_s": s,
  "task": "classification"|"detection", "threads": n, "pipelined": true,
  "stopped": "end"|"frames"|"signal"|"truncated", "frames_read": n, "frames_expected": n|null,
  "ended": "...", "output": path|null}`` once at the end. ``cpu_s`` is the process CPU time of the run
  (all threads); ``threads`` the inference threads ONNX Runtime was given. ``frames_read`` counts frames
  the source delivered (dropped ones too); ``frames_expected`` is the count the container states (null:
  not stated, e.g. a stream or camera); ``ended`` says in words how the run ended. A file that ends
  before its stated count is "truncated": the summary is emitted, the outputs are discarded and the run
  fails with exit code 5 ("stream ended at frame 16 of 60").

How a video frame enters the spec: every source yields BGR uint8 frames, which replace the spec's
``decode`` step. For ``decode: bgr`` the frame is used as is. For ``decode: gray`` it is converted with
``cv2.cvtColor(BGR2GRAY)``, the same conversion the spec's gray ``decode`` applies to a file (colour decode +
BGR2GRAY), so a frame and an image file of it give the same tensor. That equals ``imread(IMREAD_GRAYSCALE)``
exactly when B = G = R (gray content,
e.g. a video made from gray images: the fixed-point weights sum to 1), but NOT for colour images:
``imread``'s gray path uses imgcodecs' own rounding for PNG (±1 on about half the pixels) and libjpeg's
direct Y output for JPEG (up to ±17 measured). tests/demo/test_frame_conversion.py pins both facts.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import cv2
import numpy as np

from edgekit import bundle as B
from edgekit.demo import overlay
from edgekit.demo.sources import (
    CaptureThread,
    Frame,
    Source,
    SourceTruncatedError,
    open_source,
    parse_uri,
)
from edgekit.errors import EdgekitError, InputError
from edgekit.preprocess import PreprocessSpec
from edgekit.preprocess import run as preprocess_run
from edgekit.preprocess.spec import Decode

if TYPE_CHECKING:
    from edgekit.detect.postprocess import Detection

FOURCC_BY_SUFFIX = {".avi": "MJPG", ".mkv": "FFV1", ".mp4": "mp4v"}


class OutputError(EdgekitError):
    """An output file that cannot be written."""

    exit_code = 2


def frame_to_decoded(frame_bgr: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """A BGR uint8 frame as the spec's decode step would have produced it (see the module doc)."""
    first = spec.steps[0]
    assert isinstance(first, Decode)
    if first.color == "gray":
        return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    return frame_bgr


class _Model:
    """An ONNX Runtime session on a bundle's model (``threads``: intra-op threads, 0 = every CPU)."""

    def __init__(self, bundle: B.Bundle, model_id: str | None = None, threads: int = 0) -> None:
        import onnxruntime as ort

        self.entry = bundle.manifest.model(model_id)
        path = bundle.model_path(model_id)
        so = ort.SessionOptions()
        self.threads = threads if threads > 0 else (os.cpu_count() or 1)  # 0: every CPU, as in C++
        so.intra_op_num_threads = self.threads
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3  # errors only: no graph-cleanup warnings on the demo's stderr
        try:
            self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise B.BundleError(f"cannot load model {path}: {exc}", "rebuild the bundle") from exc
        self.input_name = self.session.get_inputs()[0].name
        self.labels = bundle.labels()

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The model's first output for ``x`` (batch first)."""
        return np.asarray(self.session.run(None, {self.input_name: x})[0], dtype=np.float32)

    def label(self, c: int) -> str:
        return self.labels[c] if 0 <= c < len(self.labels) else str(c)


class Classifier(_Model):
    """ONNX Runtime session + the manifest's classification postprocess (softmax, top-k)."""

    def __init__(self, bundle: B.Bundle, model_id: str | None = None, threads: int = 0) -> None:
        post = bundle.manifest.classification()
        super().__init__(bundle, model_id, threads)
        self.softmax = post.apply_softmax
        self.top_k = post.top_k

    def __call__(self, x: np.ndarray) -> list[tuple[int, float]]:
        logits = self.raw(x).reshape(-1)
        if self.softmax:
            e = np.exp(logits - logits.max())
            p = e / e.sum()
        else:
            p = logits
        k = min(self.top_k, p.size)
        order = np.argsort(-p, kind="stable")[:k]
        return [(int(c), float(p[c])) for c in order]


class Detector(_Model):
    """ONNX Runtime session + the manifest's detection postprocess (``edgekit.detect.postprocess.detect``:
    decode, NMS, boxes back to the frame through the inverse of the spec's geometry)."""

    def __init__(self, bundle: B.Bundle, model_id: str | None = None, threads: int = 0) -> None:
        post = bundle.manifest.postprocess
        if not isinstance(post, B.DetectionPostprocess):
            raise B.BundleError(
                f"bundle '{bundle.manifest.name}' is not a detection bundle",
                "use the classification path for it",
            )
        super().__init__(bundle, model_id, threads)
        self.post = post
        self.spec = bundle.manifest.preprocess

    def __call__(self, x: np.ndarray, image_hw: tuple[int, int]) -> list[Detection]:
        """Detections of one frame of size ``image_hw`` (h, w) in its pixels, best first."""
        from edgekit.detect.postprocess import detect

        return detect(self.raw(x), self.post, self.labels, self.spec, [image_hw])[0]


@dataclass
class DemoOptions:
    bundle: Path
    source: str
    output: Path | None = None
    headless: bool = False
    frames: int = 0  # 0 = until the source ends / Ctrl-C
    json_path: Path | None = None
    realtime: bool = False
    model: str | None = None
    device: str | None = None  # profile for csi:// (default: the bundle's device)
    queue_size: int = 2
    retries: int = 5
    backoff_s: float = 0.5
    threads: int = 0
    width: int = 0
    height: int = 0
    fourcc: str | None = None


@dataclass
class _Acc:
    n: int = 0
    sums: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys((*overlay.STAGES, "total", "latency"), 0.0)
    )

    def add(self, ms: dict[str, float]) -> None:
        self.n += 1
        for k, v in ms.items():
            self.sums[k] = self.sums.get(k, 0.0) + v

    def means(self) -> dict[str, float]:
        return {k: round(v / self.n, 3) if self.n else 0.0 for k, v in self.sums.items()}


def t_frame_start(item: Frame) -> float:
    """When read() of this frame started (time.monotonic())."""
    return item.t_capture - item.capture_ms / 1000.0


def detection_json(d: Detection) -> dict[str, Any]:
    """One detection as a JSON line carries it (rounded as the C++ app rounds: box 3, score 6 decimals)."""
    return {
        "box": [round(float(v), 3) for v in d.box],
        "score": round(float(d.score), 6),
        "class_id": int(d.class_id),
        "label": d.label,
    }


def resolve_source(opts: DemoOptions, manifest: B.Manifest) -> Source:
    pipeline, prof_name = None, opts.device or manifest.device
    if opts.source.strip().lower().startswith("csi://"):
        from edgekit.profiles import get_profile

        prof = get_profile(prof_name)
        pipeline = prof.camera.csi_pipeline
    return parse_uri(opts.source, pipeline, prof_name)


class _VideoOut:
    """A VideoWriter that writes to a hidden temporary sibling and renames on success."""

    def __init__(self, path: Path, fourcc: str | None) -> None:
        self.path = path
        suffix = path.suffix.lower()
        self.fourcc = fourcc or FOURCC_BY_SUFFIX.get(suffix, "")
        if not self.fourcc:
            raise OutputError(
                f"output {path}: unknown video type '{suffix}'", "use .avi (MJPG), .mkv (FFV1) or .mp4"
            )
        if not path.parent.is_dir():
            raise OutputError(f"output {path}: folder {path.parent} does not exist", "create it first")
        self.tmp = path.parent / f".{path.stem}.partial-{os.getpid()}{path.suffix}"
        self.writer: cv2.VideoWriter | None = None
        self.frames = 0

    def write(self, img: np.ndarray, fps: float) -> None:
        if self.writer is None:
            h, w = img.shape[:2]
            self.writer = cv2.VideoWriter(
                str(self.tmp), cv2.CAP_FFMPEG, cv2.VideoWriter.fourcc(*self.fourcc), fps, (w, h)
            )
            if not self.writer.isOpened():
                raise OutputError(
                    f"output {self.path}: cannot open a {self.fourcc} writer", "try another suffix"
                )
        self.writer.write(img)
        self.frames += 1

    def close(self, keep: bool) -> None:
        if self.writer is not None:
            self.writer.release()
        if keep and self.frames:
            os.replace(self.tmp, self.path)
        else:
            with contextlib.suppress(FileNotFoundError):
                self.tmp.unlink()


class _Lines:
    """JSON lines to stdout (flushed each line) and/or a file written to a temporary sibling first."""

    def __init__(self, to_stdout: bool, path: Path | None) -> None:
        self.to_stdout = to_stdout
        self.path = path
        self.fh: IO[str] | None = None
        if path is not None:
            if not path.parent.is_dir():
                raise OutputError(f"--json {path}: folder {path.parent} does not exist", "create it first")
            self.tmp = path.parent / f".{path.name}.partial-{os.getpid()}"
            self.fh = self.tmp.open("w")

    def emit(self, obj: dict[str, Any]) -> None:
        s = json.dumps(obj, separators=(",", ":"))
        if self.to_stdout:
            print(s, flush=True)
        if self.fh is not None:
            self.fh.write(s + "\n")

    def close(self, keep: bool = True) -> None:
        if self.fh is not None and self.path is not None:
            self.fh.close()
            self.fh = None
            if keep:
                os.replace(self.tmp, self.path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    self.tmp.unlink()


@contextlib.contextmanager
def _sigint_stops(stop: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C / SIGTERM request a clean stop instead of raising (main thread only)."""
    try:
        old = {s: signal.signal(s, lambda *_: stop()) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class _Window:
    def __init__(self, title: str, warn: Callable[[str], None]) -> None:
        self.title, self.ok = title, False
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            warn("no display: not opening a window (use --output FILE or --headless)")
            return
        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
            self.ok = True
        except cv2.error:
            warn(f"this OpenCV ({cv2.__version__}) has no GUI: not opening a window (use --output FILE)")

    def show(self, img: np.ndarray) -> bool:
        """Show a frame; False when the user pressed q or Esc."""
        if not self.ok:
            return True
        cv2.imshow(self.title, img)
        return (cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)

    def close(self) -> None:
        if self.ok:
            with contextlib.suppress(cv2.error):
                cv2.destroyWindow(self.title)


def run_demo(
    opts: DemoOptions,
    warn: Callable[[str], None] = lambda _m: None,
    progress: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Run the demo; returns the summary record (also emitted as the last JSON line)."""
    if opts.frames < 0:
        raise InputError(f"--frames {opts.frames} is negative", "pass 0 (no limit) or a positive count")
    bundle = B.load(opts.bundle)
    spec = bundle.manifest.preprocess
    src = resolve_source(opts, bundle.manifest)
    detection = bundle.manifest.task == "detection"
    model: Classifier | Detector = (Detector if detection else Classifier)(bundle, opts.model, opts.threads)
    out = _VideoOut(opts.output, opts.fourcc) if opts.output else None
    reader = open_source(src, opts.width, opts.height)  # fails fast, naming the URI
    lines = _Lines(to_stdout=opts.headless and opts.json_path is None, path=opts.json_path)
    t_start = time.monotonic()

    def event(msg: str) -> None:
        warn(f"{src.uri}: {msg}")
        lines.emit({"type": "event", "t": round(time.monotonic() - t_start, 4), "message": msg})

    def prepare(fr: Frame) -> None:  # on the capture thread: the inference thread gets a ready tensor
        fr.tensor = preprocess_run(spec, frame_to_decoded(fr.image, spec))[0]

    drop = src.live or opts.realtime
    cap = CaptureThread(
        lambda: open_source(src, opts.width, opts.height),
        reader,
        live=src.live,
        drop_stale=drop,
        queue_size=opts.queue_size if drop else max(opts.queue_size, 4),
        pace_fps=(reader.fps or 30.0) if (opts.realtime and not src.live) else 0.0,
        retries=opts.retries,
        backoff_s=opts.backoff_s,
        on_event=event,
        prepare=prepare,
    )
    window = _Window(f"edgekit demo - {bundle.manifest.name}", warn) if not opts.headless else None
    acc, cpu_acc, stopped, fps_ema = _Acc(), _Acc(), "end", 0.0
    cpu_start = time.process_time()
    stop_requested = False
    t_first: float | None = None
    t_prev: float | None = None
    ok = False

    def request_stop() -> None:
        nonlocal stop_requested
        stop_requested = True
        cap.stop()

    try:
        with _sigint_stops(request_stop):
            cap.start()
            while True:
                if stop_requested:
                    stopped = "signal"
                    break
                item = cap.get(0.1)
                if item is None:
                    continue
                if item is CaptureThread.END:
                    if cap.error is not None:
                        raise cap.error
                    stopped = "signal" if stop_requested else "end"
                    expected = getattr(reader, "frame_count", 0) if not src.live else 0
                    if stopped == "end" and expected and cap.stats.captured < expected:
                        stopped = "truncated"
                    break
                assert isinstance(item, Frame) and item.tensor is not None
                if t_first is None:
                    t_first = t_frame_start(item)
                # the inference thread: model + postprocessing only (the frame arrives preprocessed)
                c1, t1 = time.thread_time(), time.monotonic()
                top: list[tuple[int, float]] = []
                dets: list[Detection] = []
                if isinstance(model, Detector):
                    dets = model(item.tensor, (item.image.shape[0], item.image.shape[1]))
                else:
                    top = model(item.tensor)
                t2, c2 = time.monotonic(), time.thread_time()
                ms = {"capture": item.capture_ms, "preprocess": item.preprocess_ms, "infer": (t2 - t1) * 1e3}
                if out is not None or (window is not None and window.ok):
                    shown = [(model.label(c), p) for c, p in top]
                    img = overlay.draw(
                        item.image, shown, fps_ema, {**ms, "draw": acc.means().get("draw", 0.0)}, dets
                    )
                    if out is not None:
                        out.write(img, reader.fps or 30.0)
                    if window is not None and not window.show(img):
                        request_stop()
                t3, c3 = time.monotonic(), time.thread_time()
                ms["draw"] = (t3 - t2) * 1e3
                ms["total"] = ms["capture"] + ms["preprocess"] + ms["infer"] + ms["draw"]
                ms["latency"] = (t3 - t_frame_start(item)) * 1e3
                cpu = {
                    "capture": item.capture_cpu_ms,
                    "preprocess": item.preprocess_cpu_ms,
                    "infer": (c2 - c1) * 1e3,
                    "draw": (c3 - c2) * 1e3,
                }
                if t_prev is not None:
                    inst = 1.0 / max(t3 - t_prev, 1e-9)
                    fps_ema = inst if fps_ema == 0.0 else 0.9 * fps_ema + 0.1 * inst
                t_prev = t3
                acc.add(ms)
                cpu_acc.add(cpu)
                line: dict[str, Any] = {
                    "type": "frame",
                    "frame": item.index,
                    "t": round(item.t_capture - t_start, 4),
                }
                if isinstance(model, Detector):
                    line["detections"] = [detection_json(d) for d in dets]
                else:
                    line["topk"] = [
                        {"class": c, "label": model.label(c), "score": round(p, 6)} for c, p in top
                    ]
                line["ms"] = {k: round(v, 3) for k, v in ms.items()}
                line["cpu_ms"] = {k: round(v, 3) for k, v in cpu.items()}
                line["span"] = {
                    "preprocess": [round(item.t_pre0 - t_start, 6), round(item.t_pre1 - t_start, 6)],
                    "infer": [round(t1 - t_start, 6), round(t2 - t_start, 6)],
                }
                line["fps"] = round(fps_ema, 2)
                lines.emit(line)
                if progress is not None:
                    progress(acc.n, fps_ema)
                if opts.frames and acc.n >= opts.frames:
                    stopped = "frames"
                    break
        ok = stopped != "truncated"
    finally:
        cap.stop()
        cap.join(timeout=5.0)
        if window is not None:
            window.close()
        if out is not None:
            out.close(keep=ok)
        if not ok:
            lines.close(keep=False)
    elapsed = (t_prev - t_first) if (t_prev is not None and t_first is not None) else 0.0
    expected = (getattr(reader, "frame_count", 0) or None) if not src.live else None
    read = cap.stats.captured
    ended = {
        "frames": f"stopped after --frames {opts.frames}",
        "signal": "stopped by the user",
        "truncated": f"stream ended at frame {read} of {expected}",
        "end": f"end of stream after all {read} frames the container states"
        if expected
        else f"end of stream after {read} frames (the source states no frame count)",
    }[stopped]
    summary: dict[str, Any] = {
        "type": "summary",
        "runner": "python",
        "source": src.uri,
        "model": model.entry.id,
        "frames": acc.n,
        "dropped": cap.stats.dropped,
        "reconnects": cap.stats.reconnects,
        "elapsed_s": round(elapsed, 4),
        "fps": round(acc.n / elapsed, 2) if elapsed > 0 and not math.isnan(elapsed) else 0.0,
        "ms_mean": acc.means(),
        "cpu_ms_mean": {k: v for k, v in cpu_acc.means().items() if k in overlay.STAGES},
        "cpu_s": round(time.process_time() - cpu_start, 3),
        "task": "detection" if detection else "classification",
        "threads": model.threads,
        "pipelined": True,
        "stopped": stopped,
        "frames_read": read,
        "frames_expected": expected,
        "ended": ended,
        "output": str(opts.output) if ok and out and out.frames else None,
    }
    lines.emit(summary)
    if stopped == "truncated":
        lines.close(keep=False)
        raise SourceTruncatedError(
            f"source '{src.uri}': stream ended at frame {read} of {expected} (truncated or damaged file); "
            "no output written",
            "re-copy or re-record the video, or pass --frames N to use only its first N frames",
        )
    lines.close()
    return summary
