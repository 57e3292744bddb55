"""The manifest's detection postprocess (``postprocess.type: detection``), interpreted in Python.

The C++ runtime interprets the same declaration (cpp_runtime/src/detect.cpp) in the same order, so both
languages give the same detections for the same raw output:

1. decode the one output row into float32 xyxy boxes in network-input pixels and float32 scores
   (``edgekit_ltrb``: cell (i, j) at stride s has centre ((j + 0.5) s, (i + 0.5) s) and distances
   max(raw, 0) * s; ``anchor_free_grid``: the box channels in ``box_format``); ``sigmoid`` is
   1 / (1 + exp(-x)) in float64 rounded to float32;
2. candidates: every (position p, class c) with a finite score >= ``score_threshold`` and a finite box
   (class 0 skipped when ``background_class``), candidate index k = p * C + c;
3. sort by score descending, ties by k ascending; keep ``pre_nms_top_k``;
4. greedy NMS: a candidate is dropped when a kept one of its class (any class with ``class_agnostic``) has
   IoU > ``nms_iou`` (IoU in float64); at most ``max_detections`` are kept;
5. with ``coordinates: original``, boxes go back through the inverse of the spec's geometry
   (edgekit.preprocess.geometry.input_affine) and are clipped to the original image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgekit.bundle import DetectionPostprocess
from edgekit.preprocess.geometry import input_affine
from edgekit.preprocess.spec import PreprocessSpec


@dataclass(frozen=True)
class Detection:
    """One detection: ``box`` = (x1, y1, x2, y2) in original-image pixels (or network-input pixels with
    ``coordinates: input``), its score, the output class channel and its label ("" past the labels)."""

    box: tuple[float, float, float, float]
    score: float
    class_id: int
    label: str

    def as_dict(self) -> dict[str, object]:
        return {"box": [float(v) for v in self.box], "score": float(self.score),
                "class_id": int(self.class_id), "label": self.label}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) in float64, rounded once to float32 (the C++ runtime does the same): float32 exp is
    NumPy's own SIMD code here and the C library's there, a few ulps apart; float64 exp is not."""
    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def decode(row: np.ndarray, post: DetectionPostprocess) -> tuple[np.ndarray, np.ndarray]:
    """One batch row of the output -> (boxes float32 [P, 4] xyxy input pixels, scores float32 [P, C])."""
    r = np.asarray(row, dtype=np.float32)
    if post.encoding == "edgekit_ltrb":
        if r.ndim != 3 or r.shape[0] < 5:
            raise ValueError(f"edgekit_ltrb output row of shape {list(r.shape)} is not [4 + C, H, W]")
        _, h, w = r.shape
        s = np.float32(post.stride)
        jj, ii = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        cx = ((jj + np.float32(0.5)) * s).reshape(-1)
        cy = ((ii + np.float32(0.5)) * s).reshape(-1)
        d = np.maximum(r[:4].reshape(4, -1), np.float32(0.0)) * s
        boxes = np.stack([cx - d[0], cy - d[1], cx + d[2], cy + d[3]], axis=1).astype(np.float32)
        logits = r[4:].reshape(r.shape[0] - 4, -1).T
    else:
        if r.ndim != 2 or r.shape[0] < 5:
            raise ValueError(f"anchor_free_grid output row of shape {list(r.shape)} is not [4 + C, A]")
        b = r[:4]
        if post.box_format == "cxcywh":
            hw, hh = b[2] * np.float32(0.5), b[3] * np.float32(0.5)
            boxes = np.stack([b[0] - hw, b[1] - hh, b[0] + hw, b[1] + hh], axis=1).astype(np.float32)
        else:
            boxes = b.T.astype(np.float32)
        logits = r[4:].T
    scores = _sigmoid(logits) if post.score_activation == "sigmoid" else np.asarray(logits, dtype=np.float32)
    return np.ascontiguousarray(boxes), np.ascontiguousarray(scores)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two xyxy boxes in float64; 0 when the union is empty."""
    ax1, ay1, ax2, ay2 = (float(v) for v in a)
    bx1, by1, bx2, by2 = (float(v) for v in b)
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = max(0.0, ax2 - ax1) * max(0.0, ay2 - ay1) + max(0.0, bx2 - bx1) * max(0.0, by2 - by1) - inter
    return inter / union if union > 0.0 else 0.0


def candidates(boxes: np.ndarray, scores: np.ndarray, post: DetectionPostprocess) -> np.ndarray:
    """Candidate indices k = p * C + c, sorted by score descending then k ascending, at most pre_nms_top_k."""
    n_cls = scores.shape[1]
    s = scores.reshape(-1)
    ok = np.isfinite(s) & (s >= np.float32(post.score_threshold))
    ok &= np.repeat(np.isfinite(boxes).all(axis=1), n_cls)
    if post.background_class and n_cls > 0:
        ok.reshape(-1, n_cls)[:, 0] = False
    k = np.flatnonzero(ok)
    order = np.lexsort((k, -s[k].astype(np.float64)))
    return k[order][: post.pre_nms_top_k]


def nms(boxes: np.ndarray, scores: np.ndarray, post: DetectionPostprocess) -> list[int]:
    """Greedy NMS over :func:`candidates`; returns the kept candidate indices k in output order."""
    n_cls = scores.shape[1]
    kept: list[int] = []
    for k in candidates(boxes, scores, post):
        p, c = divmod(int(k), n_cls)
        suppressed = False
        for q in kept:
            pq, cq = divmod(q, n_cls)
            if (post.class_agnostic or cq == c) and iou(boxes[p], boxes[pq]) > post.nms_iou:
                suppressed = True
                break
        if not suppressed:
            kept.append(int(k))
            if len(kept) >= post.max_detections:
                break
    return kept


def detect(output: np.ndarray, post: DetectionPostprocess, labels: list[str],
           spec: PreprocessSpec | None = None,
           image_hw: Sequence[tuple[int, int]] | None = None) -> list[list[Detection]]:
    """``output``: the model's one output, batch first. One list of detections per batch row, best first.
    ``coordinates: original`` needs ``spec`` and the decoded image's (h, w) per row (``image_hw``)."""
    out = np.asarray(output, dtype=np.float32)
    if out.ndim == 0 or out.shape[0] == 0:
        raise ValueError(f"model output of shape {list(out.shape)} has no batch rows")
    to_original = post.coordinates == "original"
    if to_original and (spec is None or image_hw is None or len(image_hw) != out.shape[0]):
        raise ValueError("coordinates: original needs the spec and the image size of every batch row")
    res: list[list[Detection]] = []
    for b in range(out.shape[0]):
        boxes, scores = decode(out[b], post)
        n_cls = scores.shape[1]
        kept = nms(boxes, scores, post)
        sel = np.array([boxes[k // n_cls] for k in kept], dtype=np.float32).reshape(-1, 4)
        mapped = sel.astype(np.float64)
        if to_original:
            assert spec is not None and image_hw is not None
            h, w = image_hw[b]
            mapped = input_affine(spec, int(h), int(w)).inverse_boxes(sel)
        dets = []
        for j, k in enumerate(kept):
            p, c = divmod(k, n_cls)
            bx = mapped[j]
            dets.append(Detection((float(bx[0]), float(bx[1]), float(bx[2]), float(bx[3])),
                                  float(scores[p, c]), c, labels[c] if c < len(labels) else ""))
        res.append(dets)
    return res
