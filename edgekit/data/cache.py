"""Preprocessed tensors cached per (spec sha256, data key): in memory, and on disk under
``$EDGEKIT_CACHE_DIR/preprocessed`` (default ``~/.cache/edgekit/preprocessed``; ``EDGEKIT_CACHE_DIR=off``
disables the disk cache). The tensors always come from
``edgekit.preprocess.run_batch`` — the spec's Python interpretation — never from other transforms."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgekit.io import atomic_write_with
from edgekit.preprocess import PreprocessSpec, run_batch

_MEMORY: dict[str, np.ndarray] = {}


def cache_dir() -> Path | None:
    env = os.environ.get("EDGEKIT_CACHE_DIR")
    if env == "off":
        return None
    return (Path(env) if env else Path.home() / ".cache" / "edgekit") / "preprocessed"


def _content_key(images: Sequence[np.ndarray] | np.ndarray) -> str:
    h = hashlib.sha256()
    for im in images:
        a = np.ascontiguousarray(im)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:24]


def preprocess_cached(spec: PreprocessSpec, images: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """``run_batch(spec, images)`` cached by the spec's sha256 and the images' content hash."""
    if len(images) == 0:
        return np.zeros([0, *spec.input_shape()[1:]], np.float32)
    key = f"{spec.sha256()[:24]}-{_content_key(images)}"
    if key in _MEMORY:
        return _MEMORY[key]
    d = cache_dir()
    path = d / f"{key}.npy" if d else None
    if path is not None and path.is_file():
        try:
            arr = np.load(path)
            _MEMORY[key] = arr
            return arr
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # a corrupt cache entry: recompute
    arr = run_batch(spec, images)
    _MEMORY[key] = arr
    if path is not None:
        with contextlib.suppress(OSError):  # the cache is an optimisation only
            atomic_write_with(path, lambda tmp: np.save(tmp, arr), ".npy")
    return arr
