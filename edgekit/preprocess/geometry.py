"""Integer geometry of resize and crop steps. The C++ runtime implements the same formulas
(cpp_runtime/src/preprocess.cpp); tests pin both to these values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from edgekit.preprocess.spec import PreprocessSpec


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


# -- the spec's geometry as an affine per axis (det-base / DET.md) ----------------------------------
@dataclass(frozen=True)
class Affine:
    """x' = ax * x + bx, y' = ay * y + by, in continuous pixel-edge coordinates (the pixel (i, j) covers
    [j, j + 1) x [i, i + 1)); float64."""

    ax: float = 1.0
    bx: float = 0.0
    ay: float = 1.0
    by: float = 0.0

    def then(self, ax: float, bx: float, ay: float, by: float) -> Affine:
        """This map followed by ``x'' = ax x' + bx`` (and y)."""
        return Affine(ax * self.ax, ax * self.bx + bx, ay * self.ay, ay * self.by + by)

    def forward_boxes(self, b: np.ndarray) -> np.ndarray:
        """[K, 4] xyxy boxes of the decoded image -> network-input pixels (float64)."""
        a = np.asarray(b, dtype=np.float64).reshape(-1, 4)
        return np.stack([a[:, 0] * self.ax + self.bx, a[:, 1] * self.ay + self.by,
                         a[:, 2] * self.ax + self.bx, a[:, 3] * self.ay + self.by], axis=1)

    def inverse_boxes(self, b: np.ndarray) -> np.ndarray:
        """[K, 4] xyxy boxes in network-input pixels -> the decoded image's pixels (float64)."""
        a = np.asarray(b, dtype=np.float64).reshape(-1, 4)
        return np.stack([(a[:, 0] - self.bx) / self.ax, (a[:, 1] - self.by) / self.ay,
                         (a[:, 2] - self.bx) / self.ax, (a[:, 3] - self.by) / self.ay], axis=1)


def input_affine(spec: PreprocessSpec, h: int, w: int) -> Affine:
    """The spec's geometry steps (resize / center_crop; cvt_color is the identity) from a decoded (h, w)
    image, composed into one per-axis affine (DET.md)."""
    from edgekit.preprocess.spec import CenterCrop, Resize

    a = Affine()
    for s in spec.steps[1:]:
        if s.op == "to_float":
            break
        if isinstance(s, Resize):
            if s.mode == "stretch":
                th, tw = s.size
                a = a.then(tw / w, 0.0, th / h, 0.0)
                h, w = th, tw
            elif s.mode == "shorter_side":
                nh, nw = shorter_side(h, w, s.size[0])
                a = a.then(nw / w, 0.0, nh / h, 0.0)
                h, w = nh, nw
            else:
                th, tw = s.size
                nh, nw, top, left = letterbox(h, w, th, tw)
                a = a.then(nw / w, float(left), nh / h, float(top))
                h, w = th, tw
        elif isinstance(s, CenterCrop):
            ch, cw = s.size
            top, left = center_crop(h, w, ch, cw)
            a = a.then(1.0, float(-left), 1.0, float(-top))
            h, w = ch, cw
    return a
