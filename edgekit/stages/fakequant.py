"""TensorRT-flavour INT8 fake quantization in plain PyTorch (no modelopt, no torch.ao).

Symmetric INT8, zero point 0, range [-128, 127], scale = amax / 127. Weights: per channel on axis 0
(``torch.fake_quantize_per_channel_affine``), amax from the current weights. Activations (the inputs
of every Conv/Linear): per tensor (``torch.fake_quantize_per_tensor_affine``), amax by max
calibration, then fixed. ``freeze`` turns every amax into a constant buffer, so the legacy ONNX
exporter writes one QuantizeLinear/DequantizeLinear pair per input and weight with constant scales.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

QMIN, QMAX = -128, 127


class TensorQuantizer(nn.Module):
    amax: torch.Tensor
    scale: torch.Tensor
    zero_point: torch.Tensor

    def __init__(self, axis: int | None = None, channels: int = 1) -> None:
        super().__init__()
        self.axis = axis
        self.register_buffer("amax", torch.zeros(channels if axis is not None else ()))
        shape = (channels,) if axis is not None else ()
        self.register_buffer("zero_point", torch.zeros(shape, dtype=torch.int32))
        self.register_buffer("scale", torch.ones(channels if axis is not None else ()))
        self.scale_value = 1.0  # per tensor: the frozen scale as a Python float (a constant in exports)
        self.calibrating = False
        self.enabled = True
        self.frozen = False  # weights follow the weights until frozen; activations are frozen by calibrate()

    def _amax_of(self, x: torch.Tensor) -> torch.Tensor:
        x = x.detach().abs()
        if self.axis is None:
            return x.amax()
        return x.transpose(0, self.axis).reshape(x.shape[self.axis], -1).amax(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.amax = torch.maximum(self.amax, self._amax_of(x))
            return x
        if not self.enabled:
            return x
        if self.axis is None:
            if not self.frozen:
                raise RuntimeError("activation quantizer used before calibration")
            return torch.fake_quantize_per_tensor_affine(x, self.scale_value, 0, QMIN, QMAX)
        scale = self.scale if self.frozen else _scale(self._amax_of(x))
        return torch.fake_quantize_per_channel_affine(x, scale, self.zero_point, self.axis, QMIN, QMAX)

    @torch.no_grad()
    def freeze(self, x: torch.Tensor | None = None) -> None:
        """Fix amax (from ``x`` when given) and bake the scale into constants."""
        if x is not None:
            self.amax = self._amax_of(x)
        self.scale = _scale(self.amax)
        self.scale_value = float(self.scale) if self.axis is None else 1.0
        self.frozen = True


def _scale(amax: torch.Tensor) -> torch.Tensor:
    return (amax / QMAX).clamp(min=1e-8).float()


class QuantConv2d(nn.Conv2d):
    input_quantizer: TensorQuantizer
    weight_quantizer: TensorQuantizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(self.input_quantizer(x), self.weight_quantizer(self.weight), self.bias)


class QuantLinear(nn.Linear):
    input_quantizer: TensorQuantizer
    weight_quantizer: TensorQuantizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.input_quantizer(x), self.weight_quantizer(self.weight), self.bias)


_SWAP: dict[type[nn.Module], type[nn.Module]] = {nn.Conv2d: QuantConv2d, nn.Linear: QuantLinear}


def quantize_modules(model: nn.Module) -> nn.Module:
    """Swap every nn.Conv2d / nn.Linear for its fake-quant twin (same parameters), in place."""
    for mod in list(model.modules()):
        new_cls = _SWAP.get(type(mod))
        if new_cls is None:
            continue
        channels = int(mod.weight.shape[0])  # type: ignore[union-attr,index]
        mod.__class__ = new_cls  # keeps parameters, hooks and the module's place in the graph
        mod.input_quantizer = TensorQuantizer()
        mod.weight_quantizer = TensorQuantizer(axis=0, channels=channels)
    return model


def quantizers(model: nn.Module) -> list[TensorQuantizer]:
    return [m for m in model.modules() if isinstance(m, TensorQuantizer)]


@torch.no_grad()
def calibrate(model: nn.Module, batches: list[torch.Tensor]) -> None:
    """Max calibration of the activation quantizers over ``batches``."""
    acts = [q for q in quantizers(model) if q.axis is None]
    for q in acts:
        q.calibrating = True
        q.amax.zero_()
    model.eval()
    for b in batches:
        model(b)
    for q in acts:
        q.calibrating = False
        q.freeze()


def set_enabled(model: nn.Module, on: bool) -> None:
    for q in quantizers(model):
        q.enabled = on


@torch.no_grad()
def freeze(model: nn.Module) -> None:
    """Bake every scale into a constant buffer (weights: from the current weights)."""
    for m in model.modules():
        if isinstance(m, QuantConv2d | QuantLinear):
            m.weight_quantizer.freeze(m.weight)
            m.input_quantizer.freeze()
