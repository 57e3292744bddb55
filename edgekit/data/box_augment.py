"""Box-aware training augmentation for detection: the same ``augment`` section as classification
(edgekit/data/augment.py), built into an albumentations 2.0.8 pipeline with ``bbox_params`` in
``pascal_voc`` (x1, y1, x2, y2 pixels), so every geometric step moves the boxes with the pixels. The
affine's border is constant black here (replicated edges would copy an object's pixels outside its box).

It runs on the decoded image (original pixels, before the spec's geometry); the boxes then go through the
spec's geometry (``input_affine``) like the pixels go through ``edgekit.preprocess``. A leading
``random_resized_crop`` stands in for the spec's geometry (it outputs the spec's size directly). A step
whose transform cannot carry boxes is refused. Boxes cut to less than ``MIN_VISIBILITY`` of their area, or
under ``MIN_AREA`` pixels, by a crop or warp are dropped (albumentations' filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.data.augment import AugmentError, augment_hw, transforms
from edgekit.data.config import AugmentConfig, RandomResizedCrop
from edgekit.preprocess.spec import PreprocessSpec

MIN_VISIBILITY = 0.2
MIN_AREA = 1.0


@dataclass
class BoxAugmenter:
    """A built pipeline; call it on (uint8 HxWxC image, float [k, 4] xyxy boxes, int [k] class ids)."""

    pipeline: Any  # albumentations.Compose with bbox_params
    replaces_geometry: bool
    out_hw: tuple[int, int]

    def __call__(self, img: np.ndarray, boxes: np.ndarray,
                 classes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = self.pipeline(image=img, bboxes=np.asarray(boxes, np.float32).reshape(-1, 4),
                            class_ids=np.asarray(classes, np.int64))
        im = out["image"]
        if im.ndim == 2:
            im = im[:, :, None]
        b = np.asarray(out["bboxes"], np.float32).reshape(-1, 4)
        c = np.asarray(out["class_ids"], np.int64).reshape(-1)
        return np.ascontiguousarray(im), b, c

    def seed(self, seed: int) -> None:
        self.pipeline.set_random_seed(int(seed) % (2**32))


def check_carries_boxes(ts: list[Any], names: list[str]) -> None:
    """AugmentError for a transform that moves pixels but not boxes (not pixel-only, no bbox target)."""
    import albumentations as A
    from albumentations.core.type_definitions import Targets

    for i, (t, name) in enumerate(zip(ts, names, strict=True)):
        if isinstance(t, A.ImageOnlyTransform):
            continue
        if Targets.BBOXES not in getattr(t, "_targets", ()):
            raise AugmentError(f"augment.steps.{i} '{name}' cannot move boxes ({type(t).__name__} has no "
                               "bounding-box target)", "drop it from a detection project's augment")


def build_box_augmenter(cfg: AugmentConfig | None, spec: PreprocessSpec,
                        seed: int = 0) -> BoxAugmenter | None:
    hw = augment_hw(cfg, spec)
    if hw is None or cfg is None:
        return None
    import albumentations as A
    import cv2

    # a constant (black) border: replicated edge pixels would smear objects at the edge outside their box
    ts = transforms(cfg, hw, spec.output_channels() == 1, border_mode=cv2.BORDER_CONSTANT)
    check_carries_boxes(ts, [s.op for s in cfg.steps])
    bp = A.BboxParams(format="pascal_voc", label_fields=["class_ids"], clip=True,
                      min_visibility=MIN_VISIBILITY, min_area=MIN_AREA)
    aug = BoxAugmenter(A.Compose(ts, bbox_params=bp, seed=seed, strict=True),
                       isinstance(cfg.steps[0], RandomResizedCrop), hw)
    aug.seed(seed)
    return aug
