"""Integer geometry of resize and crop steps. The C++ runtime implements the same formulas
(cpp_runtime/src/preprocess.cpp); tests pin both to these values."""

from __future__ import annotations


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
