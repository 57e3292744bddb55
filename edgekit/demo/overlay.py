"""The on-frame overlay: top-k labels with scores, FPS and per-stage milliseconds.

Drawn in place on a BGR uint8 frame with OpenCV's Hershey font (the C++ app draws the same layout).
Text is scaled with the frame height so it stays readable from 240p to 1080p.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

STAGES = ("capture", "preprocess", "infer", "draw")


def _text(img: np.ndarray, s: str, org: tuple[int, int], scale: float, color: tuple[int, int, int]) -> None:
    th = max(1, int(round(scale * 2)))
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), th + 2, cv2.LINE_AA)
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, th, cv2.LINE_AA)


def draw(
    img: np.ndarray,
    topk: Sequence[tuple[str, float]],
    fps: float,
    stage_ms: Mapping[str, float],
) -> np.ndarray:
    """Draw the overlay on ``img`` (modified in place and returned)."""
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
