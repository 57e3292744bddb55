"""edgekit's DLA-friendly detector family: a MobileNetV2 backbone cut at one stride (8 by default) and a light
anchor-free head, with ONE output ``raw`` [N, 4 + C, H, W] (the ``edgekit_ltrb`` encoding of
/work/notes/DET.md):

* channels 0..3: the box branch, ReLU'd distances l, t, r, b from the cell centre in units of the stride;
* channels 4..4+C-1: the class logits (sigmoid in the postprocessing).

The two branches are joined by a Concat on the channel axis. The network holds only Conv, BatchNorm (folded
at export), Clip (ReLU6), Relu, Add (the inverted residuals) and that one channel Concat: no Reshape, no
Transpose, no Concat on another axis, no NMS, static spatial shapes. Every one of those ops runs on the
Jetson DLA; box decoding and NMS are postprocessing (edgekit/detect/postprocess.py, and the C++ runtime).

``width`` scales the backbone like MobileNetV2's width multiplier (``width=1.0`` can be seeded with the
offline torchvision ImageNet weights, ``pretrained=True``; smaller widths train from scratch or distil).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn as nn

from edgekit.errors import ConfigError
from edgekit.models.mobilenetv2 import (
    INVERTED_RESIDUAL_SETTING,
    ConvBNReLU6,
    InvertedResidual,
    _make_divisible,
    pretrained_weights_path,
)

# the number of MobileNetV2 ``features`` children whose output has the given stride
CUT = {8: 7, 16: 14, 32: 18}
CLS_PRIOR = 0.01  # focal-loss initialisation: every cell starts at p(object) = 0.01 (RetinaNet)


def backbone(width: float, stride: int, in_channels: int = 3) -> tuple[nn.Sequential, int]:
    """MobileNetV2's ``features`` up to ``stride`` (torchvision's names: ``features.<i>``), and its output
    channels."""
    if stride not in CUT:
        raise ConfigError(f"detector stride {stride} is not supported", f"use one of {sorted(CUT)}")
    if not 0.1 <= width <= 2.0:
        raise ConfigError(f"detector width {width} is out of range", "use a width between 0.1 and 2.0")
    cin = _make_divisible(32 * width)
    layers: list[nn.Module] = [ConvBNReLU6(in_channels, cin, stride=2)]
    for t, c, n, s in INVERTED_RESIDUAL_SETTING:
        cout = _make_divisible(c * width)
        for i in range(n):
            layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
            cin = cout
    layers = layers[: CUT[stride]]
    out = layers[-1].out_channels if isinstance(layers[-1], InvertedResidual) else cin
    return nn.Sequential(*layers), int(out)


class DetectHead(nn.Module):
    """``depth`` x (depth-wise 3x3 + point-wise 1x1, BN, ReLU6), then a 1x1 box conv (4, ReLU) and a 1x1 class
    conv (C), concatenated on the channel axis."""

    def __init__(self, cin: int, channels: int, num_classes: int, depth: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = cin
        for _ in range(depth):
            layers += [ConvBNReLU6(c, c, 3, groups=c), ConvBNReLU6(c, channels, 1)]
            c = channels
        self.tower = nn.Sequential(*layers)
        self.box = nn.Conv2d(c, 4, 1)
        self.box_act = nn.ReLU()
        self.cls = nn.Conv2d(c, num_classes, 1)
        nn.init.normal_(self.box.weight, 0, 0.01)
        nn.init.constant_(self.box.bias, 1.0)  # type: ignore[arg-type]  # one stride each side: the ReLU starts alive
        nn.init.normal_(self.cls.weight, 0, 0.01)
        nn.init.constant_(self.cls.bias, -math.log((1 - CLS_PRIOR) / CLS_PRIOR))  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.tower(x)
        return torch.cat([self.box_act(self.box(f)), self.cls(f)], dim=1)


class Detector(nn.Module):
    """MobileNetV2 backbone at ``stride`` + DetectHead: [N, in_channels, H, W] -> [N, 4 + C, H/s, W/s]."""

    def __init__(self, num_classes: int, width: float = 1.0, stride: int = 8, head_channels: int = 64,
                 head_depth: int = 2, in_channels: int = 3) -> None:
        super().__init__()
        if num_classes < 1:
            raise ConfigError(f"detector num_classes {num_classes} must be at least 1", "give classes >= 1")
        self.num_classes = num_classes
        self.stride = stride
        self.width = width
        self.features, c = backbone(width, stride, in_channels)
        self.head = DetectHead(c, head_channels, num_classes, head_depth)
        for m in self.features.modules():  # torchvision's initialisation, for training from scratch
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # type: ignore[no-any-return]

    def final_convs(self) -> list[nn.Module]:
        """The layers whose output channels are the encoding (4 box + C classes): never pruned."""
        return [self.head.box, self.head.cls]


def load_backbone(model: Detector, path: Path | None = None) -> int:
    """Seed ``model.features`` with torchvision's ImageNet MobileNetV2 (the offline weights); returns how many
    tensors were loaded. Only width 1.0 with 3 input channels fits those weights."""
    first = next(m for m in model.features.modules() if isinstance(m, nn.Conv2d))
    if model.width != 1.0 or first.in_channels != 3:
        raise ConfigError(f"pretrained backbone weights fit width 1.0 and 3 input channels, not width "
                          f"{model.width}", "set pretrained: false, or width: 1.0 with a colour decode")
    p = path or pretrained_weights_path()
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"cannot read the weights file {p}: {exc}", "reinstall the weights") from exc
    own = model.features.state_dict()
    sub = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")
           and k[len("features."):] in own}
    missing = [k for k in own if k not in sub]
    bad = [k for k, v in sub.items() if tuple(v.shape) != tuple(own[k].shape)]
    if missing or bad:
        raise ConfigError(f"{p} does not fit the detector backbone: {len(missing)} missing, {len(bad)} "
                          f"mis-shaped tensors, e.g. {(missing + bad)[:2]}",
                          "pass torchvision's mobilenet_v2 ImageNet state dict")
    model.features.load_state_dict(sub, strict=True)
    return len(sub)


def group_depthwise(model: nn.Module, group_channels: int = 4) -> int:
    """Replace every depth-wise 3x3 convolution (groups == channels) by a grouped one with ``group_channels``
    input channels per group, seeded so that it computes exactly what the depth-wise one did (each output
    channel's kernel on its own input channel, zeros elsewhere in its group). For Xavier's DLA v1 in INT8:
    TensorRT's INT8 grouped-convolution rule wants channels per group in multiples of 4, and edgekit's DLA
    rules keep INT8 depth-wise convolutions of DLA v1 on the GPU (unconfirmed on the DLA). Returns how many
    were replaced; more MACs (x group_channels in those layers), same function at the start."""
    n = 0
    for parent in list(model.modules()):
        for name, conv in list(parent.named_children()):
            if not (isinstance(conv, nn.Conv2d) and conv.groups > 1 and conv.groups == conv.in_channels
                    == conv.out_channels and conv.in_channels % group_channels == 0):
                continue
            c = conv.in_channels
            new = nn.Conv2d(c, c, conv.kernel_size, conv.stride, conv.padding,  # type: ignore[arg-type]
                            conv.dilation, groups=c // group_channels,  # type: ignore[arg-type]
                            bias=conv.bias is not None)
            with torch.no_grad():
                w = torch.zeros_like(new.weight)
                idx = torch.arange(c)
                w[idx, idx % group_channels] = conv.weight[:, 0]
                new.weight.copy_(w)
                if conv.bias is not None and new.bias is not None:
                    new.bias.copy_(conv.bias)
            setattr(parent, name, new)
            n += 1
    return n


def detector(classes: int = 10, width: float = 1.0, stride: int = 8, head_channels: int = 64,
             head_depth: int = 2, pretrained: bool = False, in_channels: int = 3,
             dla_v1_int8: bool = False) -> Detector:
    """The factory users and the built-in example name in ``model.teacher`` / ``model.student``
    (``edgekit.models.detector:detector``). ``dla_v1_int8``: depth-wise convolutions as groups of 4 channels
    (``group_depthwise``), so that jetson-xavier's DLA takes every layer in INT8 too."""
    m = Detector(classes, width, stride, head_channels, head_depth, in_channels)
    if pretrained:
        load_backbone(m)
    if dla_v1_int8:
        group_depthwise(m)
    return m


# ops that make TensorRT split a DLA graph (or that have no DLA layer at all): a detector's network must hold
# none of them; box decoding and NMS belong in the postprocessing
NOT_ON_DLA = frozenset({"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "NonMaxSuppression",
                        "TopK", "Gather", "GatherND", "GatherElements", "Shape", "Expand", "Tile",
                        "ScatterND", "Loop", "If", "Where", "NonZero", "ArgMax", "Range"})


def dla_problems(model: object) -> list[str]:
    """What keeps an exported detector (an onnx.ModelProto or a path) from running whole on the DLA, per
    DET.md: any op of NOT_ON_DLA, a Concat on an axis other than the channel axis (1), and an output whose
    non-batch dims are not fixed. Empty means clean."""
    import onnx

    m = onnx.load(str(model)) if isinstance(model, str | Path) else model
    assert isinstance(m, onnx.ModelProto)
    out: list[str] = []
    for n in m.graph.node:
        if n.op_type in NOT_ON_DLA:
            out.append(f"node {n.name or n.output[0]}: {n.op_type}")
        elif n.op_type == "Concat":
            axis = next((a.i for a in n.attribute if a.name == "axis"), None)
            if axis != 1:
                out.append(f"node {n.name or n.output[0]}: Concat on axis {axis}, not the channel axis 1")
    for o in m.graph.output:
        dims = o.type.tensor_type.shape.dim[1:]
        if any(not d.HasField("dim_value") for d in dims):
            out.append(f"output {o.name}: a dynamic non-batch dimension")
    return out
