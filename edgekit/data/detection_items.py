"""One detection item: decoded image + boxes -> (network-input tensor, target rows).

decode (the spec's decode step, its EXIF rule) -> box-aware augmentation (training only) -> the spec's
geometry applied to the boxes by ``input_affine(spec, h, w).forward_boxes`` while ``edgekit.preprocess``
runs the spec on the pixels. The target is float32 [max_boxes, 5] rows (class_id, x1, y1, x2, y2) in
network-input pixels, padded with rows of class_id -1 (and a zero box). Boxes are clipped to the input;
those left with no area (e.g. cut off by a center_crop) are dropped; past ``max_boxes`` the first are kept
(the readers count such images).
"""

from __future__ import annotations

import numpy as np

from edgekit.data.box_augment import BoxAugmenter
from edgekit.preprocess import python_impl
from edgekit.preprocess.geometry import input_affine
from edgekit.preprocess.spec import CenterCrop, PreprocessSpec, Resize

PAD = -1.0


def target_rows(boxes: np.ndarray, classes: np.ndarray, max_boxes: int, h: int, w: int) -> np.ndarray:
    """float32 [max_boxes, 5]: boxes clipped to (h, w), empty ones dropped, padded with class -1."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4).copy()
    np.clip(b[:, 0::2], 0, w, out=b[:, 0::2])
    np.clip(b[:, 1::2], 0, h, out=b[:, 1::2])
    keep = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    b, c = b[keep][:max_boxes], np.asarray(classes).reshape(-1)[keep][:max_boxes]
    out = np.zeros((max_boxes, 5), np.float32)
    out[:, 0] = PAD
    out[: len(b), 0] = c
    out[: len(b), 1:] = b
    return out


def detection_item(spec: PreprocessSpec, img: np.ndarray, boxes: np.ndarray, classes: np.ndarray,
                   augment: BoxAugmenter | None, max_boxes: int) -> tuple[np.ndarray, np.ndarray]:
    """(float32 input tensor without the batch axis, float32 [max_boxes, 5] target)."""
    if augment is not None:
        img, boxes, classes = augment(img, boxes, classes)
    if augment is not None and augment.replaces_geometry:  # the crop already gave the spec's size
        x = img
        for s in spec.steps[1:]:
            if not isinstance(s, Resize | CenterCrop):
                x = python_impl.apply_step(s, x)
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        oh, ow = augment.out_hw
    else:
        h, w = img.shape[:2]
        aff = input_affine(spec, h, w)
        b = aff.forward_boxes(boxes)
        x, _ = python_impl.run(spec, img)
        oh, ow = aff.out_hw  # the geometry's output size (the input, when fixed)
    return np.asarray(x[0]), target_rows(b, classes, max_boxes, oh, ow)
