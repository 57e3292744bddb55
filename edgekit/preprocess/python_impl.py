"""The Python (OpenCV + NumPy) interpretation of the preprocessing spec.

Used by the training and evaluation data pipelines and as the parity reference, so training,
evaluation and deployment cannot disagree. Bit-exactness rules (toolchain notes): resize in uint8 with
LINEAR/AREA/NEAREST/LINEAR_EXACT; float conversion as ``x.astype(float32) * float32(scale)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgekit.errors import InputError
from edgekit.preprocess import geometry
from edgekit.preprocess.image_header import check_header, check_pixels
from edgekit.preprocess.spec import (
    CenterCrop,
    CvtColor,
    Decode,
    Layout,
    Normalize,
    PreprocessSpec,
    Resize,
    ToFloat,
)

INTERP = {
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "nearest": cv2.INTER_NEAREST,
    "linear_exact": cv2.INTER_LINEAR_EXACT,
}
COLOR = {
    "BGR2RGB": cv2.COLOR_BGR2RGB,
    "RGB2BGR": cv2.COLOR_RGB2BGR,
    "BGR2GRAY": cv2.COLOR_BGR2GRAY,
    "RGB2GRAY": cv2.COLOR_RGB2GRAY,
    "GRAY2BGR": cv2.COLOR_GRAY2BGR,
    "GRAY2RGB": cv2.COLOR_GRAY2RGB,
}


@dataclass(frozen=True)
class Stage:
    index: int
    op: str
    tensor: np.ndarray

    @property
    def name(self) -> str:
        return f"{self.index:02d}_{self.op}"


def _hwc(a: np.ndarray) -> np.ndarray:
    return a[:, :, None] if a.ndim == 2 else a


def decode_flags(step: Decode) -> int:
    """The imdecode flags of the decode step (cpp_runtime/src/preprocess.cpp uses the same)."""
    flags = cv2.IMREAD_COLOR
    if step.exif == "ignore":
        flags |= cv2.IMREAD_IGNORE_ORIENTATION
    return int(flags)


def decode(step: Decode, source: str | Path | bytes, what: str = "image") -> np.ndarray:
    if isinstance(source, str | Path):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {source}: {exc.strerror}", "check the path") from exc
        what = str(source)
    else:
        data = source
    check_header(data, what)  # before decoding: a small file can declare gigabytes of pixels
    img = cv2.imdecode(np.frombuffer(data, np.uint8), decode_flags(step))
    if img is None:
        raise InputError(f"cannot decode {what}: not a readable image", "pass a PNG/JPEG/BMP file")
    check_pixels(img.shape[1], img.shape[0], what)  # formats whose header is not read above
    if step.color == "gray":
        # Not IMREAD_GRAYSCALE: libpng applies gamma in its own rgb_to_gray (builds differ by up to 20
        # levels) and libjpeg returns its Y channel. Colour decode + OpenCV's fixed-point BGR2GRAY is the
        # same in every build, exact for gray images, and what a camera frame goes through (edgekit.demo).
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return _hwc(img)


def apply_step(step: object, x: np.ndarray) -> np.ndarray:
    """Apply one non-decode step to an HxWxC array (uint8 before to_float, float32 after)."""
    if isinstance(step, CvtColor):
        src_c = 1 if step.code.startswith("GRAY") else 3
        if x.shape[2] != src_c:
            raise InputError(
                f"cvt_color {step.code} expects {src_c} channel(s), the image has {x.shape[2]}",
                "fix the decode color or the cvt_color code in the spec",
            )
        return _hwc(cv2.cvtColor(np.ascontiguousarray(x), COLOR[step.code]))
    if isinstance(step, Resize):
        h, w = x.shape[:2]
        interp = INTERP[step.interpolation]
        if step.mode == "stretch":
            nh, nw = step.size
            return _hwc(cv2.resize(x, (nw, nh), interpolation=interp))
        if step.mode == "shorter_side":
            nh, nw = geometry.shorter_side(h, w, step.size[0])
            return _hwc(cv2.resize(x, (nw, nh), interpolation=interp))
        th, tw = step.size
        nh, nw, top, left = geometry.letterbox(h, w, th, tw)
        r = _hwc(cv2.resize(x, (nw, nh), interpolation=interp))
        out = np.full((th, tw, x.shape[2]), step.pad_value, dtype=x.dtype)
        out[top : top + nh, left : left + nw] = r
        return out
    if isinstance(step, CenterCrop):
        h, w = x.shape[:2]
        ch, cw = step.size
        if ch > h or cw > w:
            raise InputError(
                f"center_crop {ch}x{cw} is larger than the image ({h}x{w}) at that step",
                "resize to at least the crop size first",
            )
        top, left = geometry.center_crop(h, w, ch, cw)
        return np.ascontiguousarray(x[top : top + ch, left : left + cw])
    if isinstance(step, ToFloat):
        if x.dtype != np.uint8:
            raise InputError(f"to_float expects uint8, got {x.dtype}", "put to_float once, after geometry")
        return x.astype(np.float32) * np.float32(step.scale)
    if isinstance(step, Normalize):
        c = x.shape[2]
        mean = np.asarray(step.mean, dtype=np.float32)
        std = np.asarray(step.std, dtype=np.float32)
        if len(mean) not in (1, c):
            raise InputError(
                f"normalize has {len(mean)} mean values for a {c}-channel image",
                "give one value per channel",
            )
        return (x - mean) / std
    if isinstance(step, Layout):
        if step.to == "NCHW":
            return np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        return np.ascontiguousarray(x[None])
    raise TypeError(f"unknown step {step!r}")


def run(
    spec: PreprocessSpec, source: str | Path | bytes | np.ndarray, collect: bool = False
) -> tuple[np.ndarray, list[Stage]]:
    """Run the whole spec on one image. ``source`` is a file, encoded bytes, or an already decoded
    HxW[xC] uint8 array in the decode step's color order. Returns the tensor and, with ``collect``,
    every step's output (the stages the C++ runtime dumps with ``--dump-stages``)."""
    stages: list[Stage] = []
    first = spec.steps[0]
    assert isinstance(first, Decode)
    if isinstance(source, np.ndarray):
        x = _hwc(source)
        want_c = 1 if first.color == "gray" else 3
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[2] != want_c:
            raise InputError(
                f"decoded image must be uint8 HxWx{want_c}, got {x.dtype} {tuple(source.shape)}",
                "pass the image as decode would produce it",
            )
    else:
        x = decode(first, source)
    if collect:
        stages.append(Stage(0, "decode", x))
    for i, step in enumerate(spec.steps[1:], start=1):
        x = apply_step(step, x)
        if collect:
            stages.append(Stage(i, step.op, x))
    return x, stages


def run_batch(spec: PreprocessSpec, images: Iterable[np.ndarray | str | Path | bytes]) -> np.ndarray:
    """Preprocess many images into one batch tensor (N on axis 0)."""
    return np.concatenate([run(spec, im)[0] for im in images], axis=0)
