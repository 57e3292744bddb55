"""Real-photo ImageFolders written by tests: class k = crops of a different scikit-image photograph."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "immunohistochemistry", "motorcycle_left")


def photo(k: int) -> np.ndarray:
    """Photograph ``k`` as BGR uint8."""
    import skimage.data as d

    rgb = getattr(d, PHOTOS[k % len(PHOTOS)])()
    return cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2BGR)


def crops(k: int, n: int, size: int = 48, seed: int = 0) -> list[np.ndarray]:
    img = photo(k)
    rng = np.random.default_rng(seed * 1000 + k)
    h, w = img.shape[:2]
    out = []
    for _ in range(n):
        s = int(rng.integers(min(h, w) // 3, min(h, w)))
        y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        out.append(cv2.resize(img[y : y + s, x : x + s], (size, size), interpolation=cv2.INTER_AREA))
    return out


def write_folder(root: Path, classes: list[str], n: int, gray: bool = False, ext: str = ".png",
                 size: int = 48, seed: int = 0) -> Path:
    """``root/<class>/<i>.<ext>``, class i from photograph i."""
    for k, c in enumerate(classes):
        d = root / c
        d.mkdir(parents=True, exist_ok=True)
        for i, im in enumerate(crops(k, n, size, seed)):
            cv2.imwrite(str(d / f"{i:04d}{ext}"), cv2.cvtColor(im, cv2.COLOR_BGR2GRAY) if gray else im)
    return root
