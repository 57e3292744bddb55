"""Detection splits: image files with boxes, read from COCO JSON (edgekit/data/coco.py) or YOLO txt
(edgekit/data/yolo.py) into one typed split.

A ``DetectionSplit`` holds references and numbers, never pixels: relative paths (a numpy bytes array),
every box of the split in one float32 [M, 4] xyxy array, their class ids (int64 [M]) and per-image
offsets (int64 [n + 1]), so a DataLoader worker forked from the main process shares them without
copy-on-write growth. COCO boxes are in image pixels; YOLO boxes stay normalized (``normalized``) and are
scaled by the decoded image's size per item.

Bad boxes: a negative width/height, a class id that is not a class, a malformed row are one ``DataError``
line naming the file (and line or annotation id) and the fix. A box partly outside the image is clipped,
one wholly outside or of zero area is skipped; both are counted per split (``BoxSkips``) with the first
few places, so the build can report what it dropped and why.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.data.config import CocoSource, DataConfig, YoloSource
from edgekit.data.sources import DataError, ResolvedSource

REASONS = {
    "clipped": "boxes partly outside the image, clipped to it",
    "outside": "boxes wholly outside the image, skipped",
    "zero_area": "boxes of zero width or height, skipped",
    "crowd": "COCO iscrowd boxes, skipped",
    "missing_image": "images named by the annotations but missing on disk, skipped",
    "over_max_boxes": "images with more than data.max_boxes boxes (the first max_boxes kept)",
    "no_label_file": "YOLO images without a label file (taken as images with no objects)",
    "label_without_image": "YOLO label files without an image, ignored",
}


@dataclass
class BoxSkips:
    """What a reader clipped or skipped, per reason (see ``REASONS``), with the first few places."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, where: str, n: int = 1) -> None:
        """Count ``n`` more for ``reason``; ``where`` joins the examples (``n`` 0: an example only)."""
        assert reason in REASONS, reason
        self.counts[reason] = self.counts.get(reason, 0) + n
        ex = self.examples.setdefault(reason, [])
        if len(ex) < 3 and where not in ex:
            ex.append(where)

    def as_dict(self) -> dict[str, Any]:
        return {r: {"count": n, "why": REASONS[r], "e.g.": self.examples.get(r, [])}
                for r, n in sorted(self.counts.items())}

    def lines(self) -> list[str]:
        """One line per reason: ``3 boxes wholly outside the image, skipped (e.g. a.txt:2)``."""
        return [f"{n} {REASONS[r]} (e.g. {', '.join(self.examples.get(r, []))})"
                for r, n in sorted(self.counts.items())]


@dataclass(frozen=True)
class DetectionSplit:
    """Images ``root / rel[i]`` with boxes ``boxes[offsets[i]:offsets[i + 1]]`` (xyxy; pixels, or
    fractions of the image's width/height when ``normalized``) of class ``classes[...]``."""

    root: str
    rel: np.ndarray  # dtype S (utf-8 bytes)
    boxes: np.ndarray  # float32 [M, 4]
    classes: np.ndarray  # int64 [M]
    offsets: np.ndarray  # int64 [n + 1]
    normalized: bool = False
    skipped: BoxSkips = field(default_factory=BoxSkips, compare=False)

    def __len__(self) -> int:
        return len(self.rel)

    def path(self, i: int) -> str:
        return str(Path(self.root) / self.rel[i].decode())

    def targets(self, i: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """Image i's boxes in its decoded pixels (float32 [k, 4], clipped to (h, w)) and class ids."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        bx = self.boxes[a:b].astype(np.float32, copy=True)
        if self.normalized:
            bx *= np.asarray([w, h, w, h], np.float32)
        np.clip(bx[:, 0::2], 0, w, out=bx[:, 0::2])
        np.clip(bx[:, 1::2], 0, h, out=bx[:, 1::2])
        return bx, self.classes[a:b].copy()

    def fingerprint(self, idx: Iterable[int]) -> str:
        """sha256 of images ``idx`` as they are now (path, size, mtime) and their boxes and classes: any
        edited image or annotation changes it (edgekit/project/reuse.py keys trained models on it)."""
        h = hashlib.sha256()
        for i in idx:
            p = self.path(int(i))
            try:
                st = os.stat(p)
                h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            except OSError:
                h.update(f"{p}\0missing\n".encode())
            a, b = int(self.offsets[i]), int(self.offsets[i + 1])
            h.update(self.boxes[a:b].tobytes())
            h.update(self.classes[a:b].tobytes())
        h.update(b"normalized" if self.normalized else b"pixels")
        return h.hexdigest()

    def n_boxes(self) -> int:
        return int(self.offsets[-1])

    def take(self, idx: np.ndarray) -> DetectionSplit:
        idx = np.asarray(idx, dtype=np.int64)
        sl = [np.arange(self.offsets[i], self.offsets[i + 1]) for i in idx]
        sel = np.concatenate(sl) if sl else np.zeros(0, np.int64)
        counts = np.diff(self.offsets)[idx] if len(idx) else np.zeros(0, np.int64)
        offs = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return DetectionSplit(self.root, self.rel[idx], self.boxes[sel], self.classes[sel], offs,
                              self.normalized, self.skipped)


def make_split(root: Path, rel: list[str], per_image: list[tuple[np.ndarray, np.ndarray]],
               normalized: bool, skipped: BoxSkips) -> DetectionSplit:
    enc = np.array([r.encode() for r in rel], dtype=np.bytes_) if rel else np.zeros(0, dtype="S1")
    boxes = [b for b, _ in per_image]
    cls = [c for _, c in per_image]
    offs = np.concatenate([[0], np.cumsum([len(b) for b in boxes])]).astype(np.int64)
    return DetectionSplit(
        str(root), enc,
        np.concatenate(boxes).astype(np.float32) if boxes else np.zeros((0, 4), np.float32),
        np.concatenate(cls).astype(np.int64) if cls else np.zeros(0, np.int64),
        offs, normalized, skipped)


def clean_boxes(xyxy: np.ndarray, w: float, h: float, where: list[str],
                skips: BoxSkips) -> np.ndarray:
    """Clip boxes partly outside [0, w] x [0, h] (in place) and return the mask of boxes kept: those of
    zero area or wholly outside are dropped. Counts go to ``skips``; ``where`` names each box's place.
    Negative sizes are refused by the readers before this."""
    if len(xyxy) == 0:
        return np.zeros(0, dtype=bool)
    x1, y1, x2, y2 = xyxy[:, 0], xyxy[:, 1], xyxy[:, 2], xyxy[:, 3]
    zero = (x2 <= x1) | (y2 <= y1)
    outside = ~zero & ((x2 <= 0) | (y2 <= 0) | (x1 >= w) | (y1 >= h))
    partly = ~zero & ~outside & ((x1 < 0) | (y1 < 0) | (x2 > w) | (y2 > h))
    for reason, m in (("zero_area", zero), ("outside", outside), ("clipped", partly)):
        ks = np.flatnonzero(m)
        if len(ks):
            skips.add(reason, where[int(ks[0])], len(ks))
            for k in ks[1:3]:
                skips.add(reason, where[int(k)], 0)
    np.clip(xyxy[:, 0::2], 0, w, out=xyxy[:, 0::2])
    np.clip(xyxy[:, 1::2], 0, h, out=xyxy[:, 1::2])
    return ~(zero | outside)  # type: ignore[no-any-return]


def count_over_max(split: DetectionSplit, max_boxes: int) -> None:
    n = np.diff(split.offsets)
    for i in np.flatnonzero(n > max_boxes):
        split.skipped.add("over_max_boxes", f"{split.rel[i].decode()} ({int(n[i])} boxes)")


def val_split(split: DetectionSplit, fraction: float, seed: int, key: str) -> tuple[DetectionSplit,
                                                                                    DetectionSplit]:
    """(train, val): a seeded ``fraction`` of the images held out (at least one; one stays for training)."""
    n = len(split)
    if n < 2:
        raise DataError(f"{key}: {n} image(s): too few to hold out a val split",
                        "add images, or give a separate val split")
    k = min(n - 1, max(1, int(round(fraction * n))))
    held = np.zeros(n, dtype=bool)
    held[np.random.default_rng(seed).permutation(n)[:k]] = True
    return split.take(np.flatnonzero(~held)), split.take(np.flatnonzero(held))


def resolve_detection(src: CocoSource | YoloSource, data: DataConfig, base: Path, key: str,
                      fast: bool = False) -> ResolvedSource:
    """The class names and the ``train`` / ``val`` detection splits of a coco or yolo source."""
    if isinstance(src, CocoSource):
        from edgekit.data.coco import resolve_coco

        res = resolve_coco(src, data, base, key, fast)
    else:
        from edgekit.data.yolo import resolve_yolo

        res = resolve_yolo(src, data, base, key)
    for sp in res.splits.values():
        if isinstance(sp, DetectionSplit):
            count_over_max(sp, data.max_boxes)
    return res
