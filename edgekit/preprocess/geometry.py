"""Integer geometry of resize and crop steps. The C++ runtime implements the same formulas
(cpp_runtime/src/preprocess.cpp); tests pin both to these values."""

from __future__ import annotations

from typing import Any

import numpy as np


def shorter_side(h: int, w: int, target: int) -> tuple[int, int]:
    """New (h, w) with the shorter side equal to ``target``; the other rounded half up."""
    if h <= w:
        return target, max(1, (w * target + h // 2) // h)
    return max(1, (h * target + w // 2) // w), target


def letterbox(h: int, w: int, th: int, tw: int) -> tuple[int, int, int, int]:
    """(new_h, new_w, top, left) to fit (h, w) inside (th, tw) keeping the aspect ratio."""
    if th * w <= tw * h:  # height limits
        nh, nw = th, max(1, min(tw, (w * th + h // 2) // h))
    else:
        nh, nw = max(1, min(th, (h * tw + w // 2) // w)), tw
    return nh, nw, (th - nh) // 2, (tw - nw) // 2


def center_crop(h: int, w: int, ch: int, cw: int) -> tuple[int, int]:
    """(top, left) of a centred ch x cw crop."""
    return (h - ch) // 2, (w - cw) // 2


class Affine:
    """Where a point of the decoded image lands in the network input, per axis: ``x' = ax * x + bx``,
    ``y' = ay * y + by`` (continuous pixel-edge coordinates: the image spans [0, w] x [0, h]). Composed over
    the spec's geometry steps by :func:`input_affine`; the C++ runtime composes the same (detect.cpp)."""

    __slots__ = ("ax", "bx", "ay", "by", "in_hw", "out_hw")

    def __init__(self, ax: float = 1.0, bx: float = 0.0, ay: float = 1.0, by: float = 0.0,
                 in_hw: tuple[int, int] = (0, 0), out_hw: tuple[int, int] = (0, 0)) -> None:
        self.ax, self.bx, self.ay, self.by = float(ax), float(bx), float(ay), float(by)
        self.in_hw, self.out_hw = in_hw, out_hw

    def then(self, sx: float, ox: float, sy: float, oy: float) -> Affine:
        """This mapping followed by ``x' = sx * x + ox`` (and y likewise)."""
        return Affine(sx * self.ax, sx * self.bx + ox, sy * self.ay, sy * self.by + oy,
                      self.in_hw, self.out_hw)

    def forward_boxes(self, boxes: Any) -> Any:
        """[K, 4] xyxy in decoded-image pixels -> network-input pixels (float64)."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        return np.stack([b[:, 0] * self.ax + self.bx, b[:, 1] * self.ay + self.by,
                         b[:, 2] * self.ax + self.bx, b[:, 3] * self.ay + self.by], axis=1)

    def inverse_boxes(self, boxes: Any, clip: bool = True) -> Any:
        """[K, 4] xyxy in network-input pixels -> decoded-image pixels (float64), clipped to the image."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        out = np.stack([(b[:, 0] - self.bx) / self.ax, (b[:, 1] - self.by) / self.ay,
                        (b[:, 2] - self.bx) / self.ax, (b[:, 3] - self.by) / self.ay], axis=1)
        if clip:
            h, w = self.in_hw
            out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0.0, float(w))
            out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0.0, float(h))
        return out

    def __repr__(self) -> str:
        return f"Affine(ax={self.ax}, bx={self.bx}, ay={self.ay}, by={self.by}, in_hw={self.in_hw})"


def input_affine(spec: Any, h: int, w: int) -> Affine:
    """The affine of the spec's geometry steps (resize, center_crop; cvt_color is the identity) for a decoded
    image of ``h`` x ``w``. The same integer geometry as the pixels (:func:`shorter_side`, :func:`letterbox`,
    :func:`center_crop`), so a box follows its object exactly."""
    a = Affine(in_hw=(h, w))
    for s in spec.steps:
        op = s.op
        if op == "resize":
            if s.mode == "stretch":
                nh, nw = s.size
                a = a.then(nw / w, 0.0, nh / h, 0.0)
            elif s.mode == "shorter_side":
                nh, nw = shorter_side(h, w, s.size[0])
                a = a.then(nw / w, 0.0, nh / h, 0.0)
            else:
                th, tw = s.size
                nh, nw, top, left = letterbox(h, w, th, tw)
                a = a.then(nw / w, float(left), nh / h, float(top))
                nh, nw = th, tw
            h, w = nh, nw
        elif op == "center_crop":
            ch, cw = s.size
            top, left = center_crop(h, w, ch, cw)
            a = a.then(1.0, -float(left), 1.0, -float(top))
            h, w = ch, cw
    a.out_hw = (h, w)
    return a
