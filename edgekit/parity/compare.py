"""Numeric comparison of stage tensors and model outputs."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from edgekit.parity.tolerances import OutputTolerance


def op_of(stage_name: str) -> str:
    return stage_name.split("_", 1)[1] if "_" in stage_name else stage_name


def index_of(stage_name: str) -> int:
    head = stage_name.split("_", 1)[0]
    return int(head) if head.isdigit() else -1


@dataclass
class Alignment:
    """Reference stage -> deployed stage (or None when the deployed side has no such step), and the deployed
    stages with no counterpart (extra steps)."""

    pairs: list[tuple[str, str | None]]
    extra: list[str]


def align(ref_names: list[str], got_names: list[str]) -> Alignment:
    """Match stages by op sequence, so a removed or added step does not shift every later comparison."""
    a = [op_of(n) for n in ref_names]
    b = [op_of(n) for n in got_names]
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    mapping: dict[int, int] = {}
    for blk in sm.get_matching_blocks():
        for k in range(blk.size):
            mapping[blk.a + k] = blk.b + k
    pairs = [(ref_names[i], got_names[mapping[i]] if i in mapping else None) for i in range(len(ref_names))]
    used = set(mapping.values())
    return Alignment(pairs, [got_names[j] for j in range(len(got_names)) if j not in used])


@dataclass
class TensorDiff:
    same_shape: bool
    max_abs: float  # inf when shapes differ
    frac_bad: float  # fraction of elements beyond the tolerance
    ok: bool


def diff(ref: np.ndarray, got: np.ndarray, atol: float) -> TensorDiff:
    if ref.shape != got.shape:
        return TensorDiff(False, float("inf"), 1.0, False)
    d = np.abs(ref.astype(np.float64) - got.astype(np.float64))
    if d.size == 0:
        return TensorDiff(True, 0.0, 0.0, True)
    bad = d > atol
    finite = bool(np.isfinite(got).all())
    return TensorDiff(True, float(d.max()), float(bad.mean()), (not bad.any()) and finite)


@dataclass
class OutputMetrics:
    n: int
    max_abs: float
    max_abs_limit: float
    min_cosine: float
    top1: float
    topk: float
    k: int
    ok: bool
    failed: list[str]  # which metrics failed


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 1.0 if na == nb else 0.0
    return float(np.dot(a, b) / (na * nb))


def output_metrics(ref: np.ndarray, got: np.ndarray, k: int, tol: OutputTolerance) -> OutputMetrics:
    """``ref`` and ``got``: N x ... (one row per golden item)."""
    n = ref.shape[0]
    r = ref.reshape(n, -1).astype(np.float64)
    g = got.reshape(n, -1).astype(np.float64)
    k = max(1, min(k, r.shape[1]))
    max_abs = float(np.abs(r - g).max()) if np.isfinite(g).all() else float("inf")
    limit = tol.max_abs_limit(float(np.abs(r).max()))
    cos = min(_cos(r[i], g[i]) for i in range(n))
    top1 = float(np.mean(r.argmax(1) == g.argmax(1)))
    rk = np.argsort(-r, axis=1, kind="stable")[:, :k]
    gk = np.argsort(-g, axis=1, kind="stable")[:, :k]
    topk = float(np.mean([len(set(rk[i]) & set(gk[i])) / k for i in range(n)]))
    failed = []
    if not max_abs <= limit:
        failed.append("max_abs")
    if cos < tol.min_cosine:
        failed.append("cosine")
    if top1 < tol.min_top1:
        failed.append("top1")
    if topk < tol.min_topk:
        failed.append("topk")
    return OutputMetrics(n, max_abs, limit, cos, top1, topk, k, not failed, failed)
