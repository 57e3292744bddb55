"""Real media for the corpus: a small MJPG clip and a byte-truncated copy of it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_clip(path: Path, n: int = 12, size: int = 56) -> Path:
    wr = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (size, size))
    assert wr.isOpened()
    rng = np.random.default_rng(0)
    for _ in range(n):
        wr.write(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    wr.release()
    return path


def truncated_copy(src: Path, dst: Path, keep: float) -> Path:
    """The first ``keep`` of ``src``'s bytes: a recording cut off mid-stream (its header still counts all
    frames)."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst
