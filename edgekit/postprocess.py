"""The manifest's classification postprocess (``postprocess`` block), interpreted in Python.

The same declaration the C++ runtime interprets in ``cpp_runtime/src/postprocess.cpp``: per batch row, the
scores are the softmax of the first output (``apply_softmax``) or the raw values, ranked best first with a
stable sort (ties keep the lower index; NaN ranks last), the first ``top_k`` kept, each with its label from
the labels file ("" where the label list is shorter). Softmax follows the C++ arithmetic: float32
``exp(x - max)``, summed and divided in float64; any non-finite input gives NaN scores.

Parity records what this produces on the training side and compares it with what the deployed side reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.bundle import PostprocessInfo


@dataclass(frozen=True)
class TopK:
    """One reported class: its index in the output, its label ("" when there is none) and its score."""

    index: int
    label: str
    score: float


def softmax(row: np.ndarray) -> np.ndarray:
    x = np.asarray(row, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return x
    if not np.isfinite(x).all():
        return np.full(x.shape, np.nan, dtype=np.float32)
    e = np.exp(x - x.max()).astype(np.float64)
    return (e / e.sum()).astype(np.float32)


def scores(row: np.ndarray, post: PostprocessInfo) -> np.ndarray:
    x = np.asarray(row, dtype=np.float32).reshape(-1)
    return softmax(x) if post.apply_softmax else x


def rank(s: np.ndarray, k: int) -> list[int]:
    key = np.where(np.isnan(s), -np.inf, s).astype(np.float64)
    return [int(i) for i in np.argsort(-key, kind="stable")[: max(0, min(k, s.size))]]


def classify(output: np.ndarray, post: PostprocessInfo, labels: list[str]) -> list[list[TopK]]:
    """``output``: the model's first output, batch first (N x ...). One top-k list per batch row."""
    out = np.asarray(output, dtype=np.float32)
    if out.ndim == 0 or out.shape[0] == 0:
        raise ValueError(f"model output of shape {list(out.shape)} has no batch rows")
    res = []
    for row in out.reshape(out.shape[0], -1):
        s = scores(row, post)
        res.append([TopK(i, labels[i] if i < len(labels) else "", float(s[i])) for i in rank(s, post.top_k)])
    return res
