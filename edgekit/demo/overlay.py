"""The on-frame overlay: top-k labels with scores (classification) or boxes with labels and scores
(detection), FPS and per-stage milliseconds.

Drawn in place on a BGR uint8 frame with OpenCV's Hershey font (the C++ app, apps/camera/overlay.cpp, draws
the same layout with the same class colours). Text is scaled with the frame height so it stays readable
from 240p to 1080p.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from edgekit.detect.postprocess import Detection

STAGES = ("capture", "preprocess", "infer", "draw")

# BGR, one per class id (modulo the table); the same table as apps/camera/overlay.cpp's class_color.
CLASS_COLORS: tuple[tuple[int, int, int], ...] = (
    (56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207),
    (10, 249, 72), (23, 204, 146), (134, 219, 61), (52, 147, 26), (187, 212, 0),
    (168, 153, 44), (255, 194, 0), (147, 69, 52), (255, 115, 100), (236, 24, 0),
    (255, 56, 132), (133, 0, 82), (255, 56, 203), (200, 149, 255), (199, 55, 255),
)  # fmt: skip


def class_color(class_id: int) -> tuple[int, int, int]:
    return CLASS_COLORS[class_id % len(CLASS_COLORS)]


def _text(img: np.ndarray, s: str, org: tuple[int, int], scale: float, color: tuple[int, int, int]) -> None:
    th = max(1, int(round(scale * 2)))
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), th + 2, cv2.LINE_AA)
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, th, cv2.LINE_AA)


def draw_detections(img: np.ndarray, dets: Sequence[Detection]) -> np.ndarray:
    """Each detection's box (colour by class) with "label score" on a filled tag above it (inside the box
    when it touches the top edge); boxes in the frame's pixels. In place; returns ``img``."""
    scale = max(0.35, img.shape[0] / 720.0) * 0.6
    th = max(1, int(round(scale * 3)))
    for d in dets:
        x1, y1, x2, y2 = (int(round(v)) for v in d.box)
        color = class_color(d.class_id)
        cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), color, th, cv2.LINE_8)
        s = f"{d.label or d.class_id} {d.score:.2f}"
        (tw, tht), base = cv2.getTextSize(s, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        tag_h = tht + base + 2
        top = y1 - tag_h if y1 - tag_h >= 0 else y1  # above the box, else inside it
        cv2.rectangle(img, (x1, top), (x1 + tw + 2, top + tag_h), color, cv2.FILLED)
        cv2.putText(img, s, (x1 + 1, top + tht + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)  # fmt: skip
    return img


def draw(
    img: np.ndarray,
    topk: Sequence[tuple[str, float]],
    fps: float,
    stage_ms: Mapping[str, float],
    detections: Sequence[Detection] | None = None,
) -> np.ndarray:
    """Draw the overlay on ``img`` (modified in place and returned): the boxes first (detection), then
    the top-k lines (classification), FPS and the stage milliseconds."""
    if detections:
        draw_detections(img, detections)
    h = img.shape[0]
    scale = max(0.35, h / 720.0)
    line = int(30 * scale) + 2
    y = line
    for i, (label, score) in enumerate(topk):
        color = (0, 255, 0) if i == 0 else (255, 255, 255)
        _text(img, f"{score * 100:5.1f}%  {label}", (8, y), scale * (1.0 if i == 0 else 0.8), color)
        y += line
    ms = "  ".join(f"{k} {stage_ms.get(k, 0.0):.1f}" for k in STAGES)
    _text(img, f"{fps:5.1f} FPS", (8, h - 2 * line + line // 2), scale * 0.8, (0, 255, 255))
    _text(img, f"ms: {ms}", (8, h - line // 2), scale * 0.6, (0, 255, 255))
    return img
