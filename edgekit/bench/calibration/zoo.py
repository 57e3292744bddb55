"""The architectures of the published calibration points, in plain torch (random weights: the estimator
needs only the graph, i.e. MACs and bytes per layer). Each copies its published reference layer for layer:

- ResNet-18/34/50/101/152 in the torchvision layout (v1.5: stride on the 3x3 of the bottleneck), 1000 classes;
- VGG-11/13/16/19, AlexNet, SqueezeNet 1.0/1.1, DenseNet-121: torchvision layouts, 1000 classes;
- MobileNetV1 with 1001 classes (the TF-slim / MLPerf model); MobileNetV2 from edgekit.models;
- SSD-MobileNetV1 at 300x300 (TF object-detection-API layout: backbone to conv13, four extra 1x1/3x3-s2
  pairs, 1x1 box/class predictors, 91 classes), cut before NMS;
- ResNet-34 backbone (no pooling/classifier), as in DLA-SW's RetinaNet ResNet-34 backbone row;
- jetson_dla_tutorial ``model_bn`` / ``model_gn`` (four conv-norm-ReLU, 32x32, 10 classes).

``build(name)`` returns the module; ``export(name, path, shape)`` writes a static-shape opset-17 ONNX graph.
A name not here raises InputError: a calibration point whose model cannot be rebuilt is an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn

from edgekit.errors import InputError

OPSET = 17


def _cbr(
    cin: int,
    cout: int,
    k: int,
    s: int = 1,
    p: int | None = None,
    groups: int = 1,
    act: type[nn.Module] = nn.ReLU,
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, s, k // 2 if p is None else p, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        act(),
    )


class _Basic(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * self.expansion
        self.body = nn.Sequential(
            _cbr(cin, width, 3, stride), nn.Conv2d(width, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        )
        self.down = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.down(x))


class _Bottleneck(_Basic):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int) -> None:
        nn.Module.__init__(self)
        cout = width * self.expansion
        self.body = nn.Sequential(
            _cbr(cin, width, 1),
            _cbr(width, width, 3, stride),
            nn.Conv2d(width, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.down = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )
        self.relu = nn.ReLU()


class ResNet(nn.Module):
    def __init__(
        self, block: type[_Basic], layers: list[int], num_classes: int = 1000, head: bool = True
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(_cbr(3, 64, 7, 2, 3), nn.MaxPool2d(3, 2, 1))
        stages: list[nn.Module] = []
        cin = 64
        for i, n in enumerate(layers):
            width = 64 * 2**i
            for j in range(n):
                stages.append(block(cin, width, 2 if (j == 0 and i > 0) else 1))
                cin = width * block.expansion
        self.stages = nn.Sequential(*stages)
        self.head = (
            nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes))
            if head
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


_VGG: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}


def vgg(cfg: list[int | str]) -> nn.Module:
    layers: list[nn.Module] = []
    cin = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, int(v), 3, 1, 1), nn.ReLU()]
            cin = int(v)
    return nn.Sequential(
        *layers,
        nn.AdaptiveAvgPool2d(7),
        nn.Flatten(),
        nn.Linear(512 * 49, 4096),
        nn.ReLU(),
        nn.Dropout(),
        nn.Linear(4096, 4096),
        nn.ReLU(),
        nn.Dropout(),
        nn.Linear(4096, 1000),
    )


def alexnet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, 1, 2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, 1, 1),
        nn.ReLU(),
        nn.Conv2d(384, 256, 3, 1, 1),
        nn.ReLU(),
        nn.Conv2d(256, 256, 3, 1, 1),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d(6),
        nn.Flatten(),
        nn.Dropout(),
        nn.Linear(9216, 4096),
        nn.ReLU(),
        nn.Dropout(),
        nn.Linear(4096, 4096),
        nn.ReLU(),
        nn.Linear(4096, 1000),
    )


class _Fire(nn.Module):
    def __init__(self, cin: int, sq: int, e1: int, e3: int) -> None:
        super().__init__()
        self.sq = nn.Sequential(nn.Conv2d(cin, sq, 1), nn.ReLU())
        self.e1 = nn.Sequential(nn.Conv2d(sq, e1, 1), nn.ReLU())
        self.e3 = nn.Sequential(nn.Conv2d(sq, e3, 3, 1, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.sq(x)
        return torch.cat([self.e1(s), self.e3(s)], 1)


def squeezenet(version: str) -> nn.Module:
    mp = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    if version == "1_0":
        feats = [
            nn.Conv2d(3, 96, 7, 2),
            nn.ReLU(),
            mp(),
            _Fire(96, 16, 64, 64),
            _Fire(128, 16, 64, 64),
            _Fire(128, 32, 128, 128),
            mp(),
            _Fire(256, 32, 128, 128),
            _Fire(256, 48, 192, 192),
            _Fire(384, 48, 192, 192),
            _Fire(384, 64, 256, 256),
            mp(),
            _Fire(512, 64, 256, 256),
        ]
    else:
        feats = [
            nn.Conv2d(3, 64, 3, 2),
            nn.ReLU(),
            mp(),
            _Fire(64, 16, 64, 64),
            _Fire(128, 16, 64, 64),
            mp(),
            _Fire(128, 32, 128, 128),
            _Fire(256, 32, 128, 128),
            mp(),
            _Fire(256, 48, 192, 192),
            _Fire(384, 48, 192, 192),
            _Fire(384, 64, 256, 256),
            _Fire(512, 64, 256, 256),
        ]
    return nn.Sequential(
        *feats, nn.Dropout(), nn.Conv2d(512, 1000, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
    )


class _DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int = 32, bn_size: int = 4) -> None:
        super().__init__()
        self.f = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.ReLU(),
            nn.Conv2d(cin, bn_size * growth, 1, bias=False),
            nn.BatchNorm2d(bn_size * growth),
            nn.ReLU(),
            nn.Conv2d(bn_size * growth, growth, 3, 1, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.f(x)], 1)


def densenet121() -> nn.Module:
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]
    c = 64
    for i, n in enumerate((6, 12, 24, 16)):
        for _ in range(n):
            layers.append(_DenseLayer(c))
            c += 32
        if i != 3:
            layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, 1, bias=False), nn.AvgPool2d(2, 2)]
            c //= 2
    layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]
    return nn.Sequential(*layers)


_MBV1 = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
]


def _mbv1_body() -> list[nn.Module]:
    layers: list[nn.Module] = [_cbr(3, 32, 3, 2, act=nn.ReLU6)]
    c = 32
    for cout, s in _MBV1:
        layers += [_cbr(c, c, 3, s, groups=c, act=nn.ReLU6), _cbr(c, cout, 1, act=nn.ReLU6)]
        c = cout
    return layers


def mobilenet_v1() -> nn.Module:
    return nn.Sequential(*_mbv1_body(), nn.AdaptiveAvgPool2d(1), nn.Conv2d(1024, 1001, 1), nn.Flatten())


class SSDMobileNetV1(nn.Module):
    """TF-OD-API ssd_mobilenet_v1_coco: feature maps conv11 (19x19x512), conv13 (10x10x1024) and "
    "four extras."""

    def __init__(self, num_classes: int = 91) -> None:
        super().__init__()
        body = _mbv1_body()
        self.to11 = nn.Sequential(*body[:23])  # stem + 11 dw/pw pairs -> 512 @ 19x19
        self.to13 = nn.Sequential(*body[23:])  # -> 1024 @ 10x10
        extras, c = [], 1024
        for mid, out in ((256, 512), (128, 256), (128, 256), (64, 128)):
            extras.append(nn.Sequential(_cbr(c, mid, 1, act=nn.ReLU6), _cbr(mid, out, 3, 2, act=nn.ReLU6)))
            c = out
        self.extras = nn.ModuleList(extras)
        chans, anchors = [512, 1024, 512, 256, 256, 128], [3, 6, 6, 6, 6, 6]
        self.box = nn.ModuleList(nn.Conv2d(ch, a * 4, 1) for ch, a in zip(chans, anchors, strict=True))
        self.cls = nn.ModuleList(
            nn.Conv2d(ch, a * num_classes, 1) for ch, a in zip(chans, anchors, strict=True)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        f11 = self.to11(x)
        feats = [f11, self.to13(f11)]
        for e in self.extras:
            feats.append(e(feats[-1]))
        return tuple(h(f) for h, f in zip([*self.box, *self.cls], feats + feats, strict=True))


def _tutorial(norm: str) -> nn.Module:
    layers: list[nn.Module] = []
    c = 3
    for out in (64, 128, 256, 512):
        layers += [
            nn.Conv2d(c, out, 3, 2, 1),
            nn.BatchNorm2d(out) if norm == "bn" else nn.GroupNorm(8, out),
            nn.ReLU(),
        ]
        c = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))


def _mobilenet_v2() -> nn.Module:
    from edgekit.models.mobilenetv2 import MobileNetV2

    return MobileNetV2(num_classes=1000)


MODELS: dict[str, Callable[[], nn.Module]] = {
    "resnet18": lambda: ResNet(_Basic, [2, 2, 2, 2]),
    "resnet34": lambda: ResNet(_Basic, [3, 4, 6, 3]),
    "resnet50": lambda: ResNet(_Bottleneck, [3, 4, 6, 3]),
    "resnet101": lambda: ResNet(_Bottleneck, [3, 4, 23, 3]),
    "resnet152": lambda: ResNet(_Bottleneck, [3, 8, 36, 3]),
    "resnet34_backbone": lambda: ResNet(_Basic, [3, 4, 6, 3], head=False),
    "vgg11": lambda: vgg(_VGG["vgg11"]),
    "vgg13": lambda: vgg(_VGG["vgg13"]),
    "vgg16": lambda: vgg(_VGG["vgg16"]),
    "vgg19": lambda: vgg(_VGG["vgg19"]),
    "alexnet": alexnet,
    "squeezenet1_0": lambda: squeezenet("1_0"),
    "squeezenet1_1": lambda: squeezenet("1_1"),
    "densenet121": densenet121,
    "mobilenet_v1": mobilenet_v1,
    "mobilenet_v2": _mobilenet_v2,
    "ssd_mobilenet_v1": SSDMobileNetV1,
    "tutorial_model_bn": lambda: _tutorial("bn"),
    "tutorial_model_gn": lambda: _tutorial("gn"),
}


def build(name: str) -> nn.Module:
    if name not in MODELS:
        raise InputError(
            f"calibration model '{name}' cannot be rebuilt: no architecture of that name",
            f"add it to edgekit/bench/calibration/zoo.py (known: {', '.join(sorted(MODELS))})",
        )
    torch.manual_seed(0)
    return MODELS[name]().eval()


def export(name: str, path: Path, shape: tuple[int, ...]) -> Path:
    """Static-shape ONNX (opset 17, constants folded) of ``name`` at input ``shape`` (N, C, H, W)."""
    model = build(name)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(*shape),),
            str(path),
            input_names=["input"],
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
    return path
