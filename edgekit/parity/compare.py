"""The comparison core: stage tensors, model outputs and reported top-k, and nothing else decides "equal".

Every numeric verdict of parity goes through ``diff`` (stage tensors), ``close`` (localization hypotheses),
``output_metrics`` (model outputs), ``reported`` (the postprocessed top-k a side reports) and ``detections``
(the boxes a detector reports, box by box). It knows nothing of backends. Fail-closed: an empty tensor, zero
items or a non-finite value never compare as equal; two empty detection lists agree for one item (an image
with no object), and the caller requires detections above the score margin over the golden set."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from edgekit.detect.postprocess import Detection, iou
from edgekit.parity.tolerances import DetectionTolerance, OutputTolerance
from edgekit.postprocess import TopK


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
    if ref.size == 0:  # nothing to compare is not a match
        return TensorDiff(True, float("inf"), 1.0, False)
    d = np.abs(ref.astype(np.float64) - got.astype(np.float64))
    bad = ~(d <= atol)  # NaN counts as bad
    finite = bool(np.isfinite(got).all() and np.isfinite(ref).all())
    return TensorDiff(True, float(np.nanmax(d)) if finite else float("inf"), float(bad.mean()),
                      (not bad.any()) and finite)  # fmt: skip


def close(ref: np.ndarray, got: np.ndarray, atol: float) -> bool:
    """Same shape, non-empty and every element within ``atol`` (a localization hypothesis holds)."""
    if ref.shape != got.shape or ref.size == 0:
        return False
    return bool(np.all(np.abs(ref.astype(np.float64) - got.astype(np.float64)) <= atol))


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
    """``ref`` and ``got``: N x ... (one row per golden item). Zero items or zero values never pass."""
    n = ref.shape[0] if ref.ndim else 0
    if n == 0 or ref.size == 0 or got.shape[0] != n or got.size != ref.size:
        return OutputMetrics(n, float("inf"), 0.0, 0.0, 0.0, 0.0, k, False, ["no items compared"])
    r = ref.reshape(n, -1).astype(np.float64)
    g = got.reshape(n, -1).astype(np.float64)
    k = max(1, min(k, r.shape[1]))
    max_abs = float(np.abs(r - g).max()) if np.isfinite(g).all() and np.isfinite(r).all() else float("inf")
    limit = tol.max_abs_limit(float(np.abs(r).max()))
    cos = min(_cos(r[i], g[i]) for i in range(n))
    top1 = float(np.mean(r.argmax(1) == g.argmax(1)))
    rk = np.argsort(-r, axis=1, kind="stable")[:, :k]
    gk = np.argsort(-g, axis=1, kind="stable")[:, :k]
    topk = float(np.mean([len(set(rk[i]) & set(gk[i])) / k for i in range(n)]))
    failed = []
    if not max_abs <= limit:
        failed.append("max_abs")
    if not cos >= tol.min_cosine:
        failed.append("cosine")
    if not top1 >= tol.min_top1:
        failed.append("top1")
    if not topk >= tol.min_topk:
        failed.append("topk")
    return OutputMetrics(n, max_abs, limit, cos, top1, topk, k, not failed, failed)


@dataclass
class ReportedDiff:
    """One item's reported top-k (what a side shows: index, label, score) against the expected top-k."""

    same_k: bool
    same_indices: bool  # same classes in the same order
    same_top1: bool
    overlap: float  # |expected ∩ reported| / |expected| (index sets)
    labels_ok: bool  # every class both report shows the expected label for its index
    score_max_abs: float  # over the classes both report (inf when none, or a score is not finite)
    scores_ok: bool
    ok: bool


def reported(expected: list[TopK], got: list[TopK], atol: float, rtol: float = 0.0) -> ReportedDiff:
    """Compare what a side reports with what training reports: a score agrees within
    ``atol + rtol * |expected score|``. Empty lists never compare as equal."""
    if not expected or not got:
        return ReportedDiff(len(expected) == len(got), False, False, 0.0, False, float("inf"), False, False)
    ei = [t.index for t in expected]
    gi = [t.index for t in got]
    exp_by = {t.index: t for t in expected}
    common = [t for t in got if t.index in exp_by]
    labels_ok = all(t.label == exp_by[t.index].label for t in common)  # other classes: same_indices says
    d = [abs(float(t.score) - float(exp_by[t.index].score)) for t in common]
    lim = [atol + rtol * abs(float(exp_by[t.index].score)) for t in common]
    finite = all(np.isfinite(t.score) for t in got) and all(np.isfinite(t.score) for t in expected)
    smax = max(d) if d and finite else float("inf")
    scores_ok = bool(common) and finite and all(x <= y for x, y in zip(d, lim, strict=True))
    same_k = len(ei) == len(gi)
    same = ei == gi
    return ReportedDiff(
        same_k,
        same,
        ei[0] == gi[0],
        len(set(ei) & set(gi)) / len(ei),
        labels_ok,
        smax,
        scores_ok,
        same_k and same and labels_ok and scores_ok,
    )


@dataclass
class DetectionDiff:
    """One item's reported detections against the expected ones. Boxes are matched one-to-one, same class,
    greedily by expected score (best first; ties: the earlier detection), each to the unmatched reported box
    of its class with the highest IoU, when that IoU is at least ``tol.pair_iou``. An unmatched detection on
    either side whose score lies within ``margin`` of ``threshold`` is *excused* (the two sides may differ in
    count there) and counted; any other unmatched detection is a difference."""

    n_expected: int
    n_got: int
    pairs: list[tuple[int, int, float, float]]  # (expected index, reported index, IoU, |score difference|)
    missing: list[int]  # expected detections with no match (not excused)
    extra: list[int]  # reported detections with no match (not excused)
    excused: int  # unmatched detections near the threshold, both sides
    decisive: int  # matched pairs whose expected score is above threshold + margin
    worst_iou: float | None  # over the pairs; None when there is none
    worst_score: float | None  # over the pairs (inf when a score is not finite)
    boxes_ok: bool
    scores_ok: bool
    count_ok: bool  # no unexcused unmatched detection
    labels_ok: bool  # every matched pair shows the same label
    ok: bool


def detections(
    expected: list[Detection],
    got: list[Detection],
    tol: DetectionTolerance,
    threshold: float,
    margin: float,
) -> DetectionDiff:
    """Compare what a side reports with what is expected, box by box (see :class:`DetectionDiff`)."""
    order = sorted(range(len(expected)), key=lambda i: (-float(expected[i].score), i))
    free = set(range(len(got)))
    pairs: list[tuple[int, int, float, float]] = []
    unmatched_e: list[int] = []
    for i in order:
        e = expected[i]
        best, best_iou = -1, -1.0
        for j in sorted(free):
            g = got[j]
            if g.class_id != e.class_id:
                continue
            v = iou(e.box, g.box)
            if not np.isfinite(v):
                continue
            if v > best_iou:
                best, best_iou = j, v
        if best >= 0 and best_iou >= tol.pair_iou:
            free.discard(best)
            d = abs(float(got[best].score) - float(e.score))
            pairs.append((i, best, best_iou, d if np.isfinite(d) else float("inf")))
        else:
            unmatched_e.append(i)

    def near(s: float) -> bool:
        return bool(np.isfinite(s)) and abs(float(s) - threshold) <= margin

    missing = [i for i in unmatched_e if not near(expected[i].score)]
    extra = [j for j in sorted(free) if not near(got[j].score)]
    excused = (len(unmatched_e) - len(missing)) + (len(free) - len(extra))
    finite_boxes = all(np.isfinite(v) for d in got for v in d.box)
    worst_iou = min((p[2] for p in pairs), default=None)
    worst_score = max((p[3] for p in pairs), default=None)
    boxes_ok = finite_boxes and all(p[2] >= tol.min_iou for p in pairs)
    scores_ok = all(p[3] <= tol.score_atol + tol.score_rtol * abs(float(expected[p[0]].score)) for p in pairs)
    decisive = sum(1 for p in pairs if float(expected[p[0]].score) > threshold + margin)
    count_ok = not missing and not extra
    labels_ok = all(got[p[1]].label == expected[p[0]].label for p in pairs)
    return DetectionDiff(len(expected), len(got), pairs, missing, extra, excused, decisive, worst_iou,
                         worst_score, boxes_ok, scores_ok, count_ok, labels_ok,
                         boxes_ok and scores_ok and count_ok and labels_ok)  # fmt: skip
