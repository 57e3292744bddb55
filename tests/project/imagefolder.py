"""Real-photo ImageFolders for the project tests: patches of scikit-image's sample photographs (CC0 /
public domain, shipped in the wheel), one photo per class, written as JPEG/PNG files by the test."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PHOTOS = ("chelsea", "coffee", "rocket", "astronaut")


def _photo(name: str) -> np.ndarray:
    import skimage.data as sk

    img = getattr(sk, name)()
    return cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


def write_imagefolder(
    root: Path,
    classes: int = 3,
    per_class: int = 16,
    size: int = 48,
    gray: bool = False,
    split: bool = False,
    seed: int = 0,
    names: list[str] | None = None,
) -> Path:
    """``root/<class>/NNN.{jpg|png}`` (or ``root/{train,val}/<class>/``): random crops of one photo per class,
    resized to ``size`` x ``size``. ``gray`` writes single-channel PNGs."""
    rng = np.random.default_rng(seed)
    names = names or [f"{p}" for p in PHOTOS[:classes]]
    for ci, cname in enumerate(names):
        img = _photo(PHOTOS[ci % len(PHOTOS)])
        h, w = img.shape[:2]
        for k in range(per_class):
            s = int(rng.integers(min(h, w) // 4, min(h, w) // 2))
            y, x = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
            patch = cv2.resize(img[y : y + s, x : x + s], (size, size), interpolation=cv2.INTER_AREA)
            sub = root / (("val" if k % 4 == 0 else "train") if split else "") / cname
            sub.mkdir(parents=True, exist_ok=True)
            if gray:
                cv2.imwrite(str(sub / f"{k:03d}.png"), cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY))
            else:
                cv2.imwrite(str(sub / f"{k:03d}.jpg"), patch, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return root
