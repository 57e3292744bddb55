"""Training-only augmentation: the ``augment`` section, built into an albumentations 2.0.8 pipeline.

It runs on uint8 HxWxC images after the spec's uint8 steps and before its float steps. A leading
``random_resized_crop`` stands in for the spec's geometry (resize / center_crop): the spec's colour steps
run, then the crop goes straight to the spec's output size. The output size must equal the spec's, and
float steps are refused (edgekit.data.config). Evaluation, calibration and golden images never see it;
it is never written to the bundle.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.data.config import (
    Affine,
    AugmentConfig,
    ColorJitter,
    HorizontalFlip,
    RandomResizedCrop,
    VerticalFlip,
)
from edgekit.errors import ConfigError
from edgekit.preprocess.spec import PreprocessSpec

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check at import (offline machines)


class AugmentError(ConfigError):
    """An augment section that does not fit the preprocessing spec."""


@dataclass
class Augmenter:
    """A built pipeline; call it on a uint8 HxWxC image. ``replaces_geometry``: the first step is a
    random resized crop that stands in for the spec's resize/center_crop."""

    pipeline: Any  # albumentations.Compose
    replaces_geometry: bool
    out_hw: tuple[int, int]

    def __call__(self, img: np.ndarray) -> np.ndarray:
        out = self.pipeline(image=img)["image"]
        if out.ndim == 2:
            out = out[:, :, None]
        return np.ascontiguousarray(out)

    def seed(self, seed: int) -> None:
        self.pipeline.set_random_seed(int(seed) % (2**32))


def augment_hw(cfg: AugmentConfig | None, spec: PreprocessSpec) -> tuple[int, int] | None:
    """The spec's fixed output (h, w) the augment works at; None when there is nothing to augment.
    AugmentError when the spec has no fixed output size."""
    if cfg is None or not cfg.steps:
        return None
    hw = spec.output_hw()
    if hw is None:
        raise AugmentError("augment needs a spec with a fixed output size",
                           "end the preprocess geometry with a resize (stretch/letterbox) or center_crop")
    return hw


def build_augmenter(cfg: AugmentConfig | None, spec: PreprocessSpec, seed: int = 0) -> Augmenter | None:
    """The albumentations pipeline for ``cfg`` (None when there are no steps); AugmentError when it would
    change the spec's output size or the spec has no fixed size."""
    hw = augment_hw(cfg, spec)
    if hw is None or cfg is None:
        return None
    import albumentations as A

    gray = spec.output_channels() == 1
    ts = transforms(cfg, hw, gray)
    aug = Augmenter(A.Compose(ts, seed=seed, strict=True), isinstance(cfg.steps[0], RandomResizedCrop), hw)
    # Check the size rule on a real-sized probe: whatever the spec feeds in, the output is the spec's size.
    probe = np.zeros((hw[0] + 7, hw[1] + 5, 1 if gray else 3), np.uint8) if aug.replaces_geometry \
        else np.zeros((hw[0], hw[1], 1 if gray else 3), np.uint8)
    out = aug(probe)
    if out.shape[:2] != hw or out.dtype != np.uint8:
        raise AugmentError(f"augment changes the output to {out.shape[:2]} {out.dtype} "
                           f"(the spec gives {list(hw)})",
                           "use size-keeping steps after random_resized_crop")
    aug.seed(seed)
    return aug


def transforms(cfg: AugmentConfig, hw: tuple[int, int], gray: bool,
               border_mode: int | None = None) -> list[Any]:
    """The albumentations transforms of ``cfg``'s steps (random_resized_crop to ``hw``); ``border_mode``:
    the affine's border (default: the edge pixels replicated)."""
    import albumentations as A
    import cv2

    ts: list[Any] = []
    for i, s in enumerate(cfg.steps):
        if isinstance(s, RandomResizedCrop):
            if s.size is not None and tuple(s.size) != hw:
                raise AugmentError(
                    f"augment.steps.{i} random_resized_crop size {s.size} changes the output size "
                    f"(the spec gives {list(hw)})",
                    f"drop 'size' (it defaults to the spec's), or set it to {list(hw)}",
                )
            ts.append(A.RandomResizedCrop(size=hw, scale=s.scale, ratio=s.ratio,
                                          interpolation=cv2.INTER_LINEAR, p=s.p))
        elif isinstance(s, HorizontalFlip):
            ts.append(A.HorizontalFlip(p=s.p))
        elif isinstance(s, VerticalFlip):
            ts.append(A.VerticalFlip(p=s.p))
        elif isinstance(s, Affine):
            ts.append(A.Affine(rotate=(-s.rotate, s.rotate), translate_percent=(-s.translate, s.translate),
                               scale=s.scale, fit_output=False, p=s.p,
                               border_mode=cv2.BORDER_REPLICATE if border_mode is None else border_mode))
        elif isinstance(s, ColorJitter):
            b, c = s.brightness, s.contrast
            ts.append(A.ColorJitter(brightness=(1 - b, 1 + b), contrast=(1 - c, 1 + c),
                                    saturation=(1.0, 1.0) if gray else (1 - s.saturation, 1 + s.saturation),
                                    hue=(0.0, 0.0) if gray else (-s.hue, s.hue), p=s.p))
        else:  # pragma: no cover - the config's union is closed
            raise AugmentError(f"augment.steps.{i}: unsupported step {s!r}", "use a listed op")
    return ts
