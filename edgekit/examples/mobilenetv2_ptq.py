"""Export, cache and post-training-quantize the pretrained MobileNetV2 (ONNX Runtime's quantizer).

* FP32 ONNX: exported once per weights sha256 / torch / opset into the cache and reused (about 3 s
  to export, then nothing);
* TensorRT flavour (``trt_qdq``): ``quantize_static`` in QDQ format on Conv and Gemm inputs only,
  symmetric INT8 activations (per tensor, zero point 0, calibrated by max or percentile) and
  symmetric per-channel INT8 weights (axis 0), float biases, Clip (ReLU6) kept;
* ONNX Runtime CPU flavour (``ort_cpu``): ``quantize_static`` in QOperator format, per-channel
  QInt8 weights, QUInt8 activations -> QLinearConv (TensorRT rejects it: non-zero zero points).
  The classifier Gemm stays FP32: with it quantized, its uint8 logits saturate at the calibration
  frames' largest logit (about 14.5) while real photos reach 20, so confident classes tie and top-1
  on the 20 photos fell from 17 to 13 (measured here); edgekit.stages.quantize_cpu does the same.

`edgekit build --example mobilenetv2-imagenet` uses the pipeline's own stages (fake-quant PTQ for the
TensorRT flavour); this module serves the benchmarks, the tests and a percentile-calibrated
alternative of the TensorRT flavour, from cached models.

Quantized models are cached too, keyed by the FP32 model and the calibration tensor.
The cache lives in ``$EDGEKIT_CACHE_DIR`` or ``~/.cache/edgekit``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

from edgekit.errors import ConfigError

OPSET = 17
EXPORT_VERSION = "2"  # bump when the export code changes, to invalidate cached models
QUANT_VERSION = "2"
CalibMethod = Literal["minmax", "percentile"]


def cache_root() -> Path:
    env = os.environ.get("EDGEKIT_CACHE_DIR")
    root = Path(env) if env else Path.home() / ".cache" / "edgekit"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the cache folder {root}: {exc.strerror}",
                          "set EDGEKIT_CACHE_DIR to a writable folder") from exc
    return root


def _atomic(dst: Path, make: Callable[[Path], None]) -> Path:
    """Run ``make(tmp)`` and rename tmp onto ``dst`` (same folder), so a crash leaves no half file."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        make(tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def export_onnx(model: torch.nn.Module, path: Path, size: int = 224) -> Path:
    """Export an eval-mode torch model with input ``input`` [N,3,size,size] and output ``logits``."""
    import torch

    def make(tmp: Path) -> None:
        torch.onnx.export(
            model, (torch.zeros(1, 3, size, size),), str(tmp), input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=OPSET, dynamo=False,
        )

    def make_clean(tmp: Path) -> None:
        make(tmp)
        _constants_to_initializers(tmp)

    return _atomic(path, make_clean)


def _constants_to_initializers(path: Path) -> None:
    """Turn Constant nodes (Clip's min/max) into initializers: a plainer graph for TensorRT and ORT."""
    import onnx

    m = onnx.load(str(path))
    keep = []
    for n in m.graph.node:
        if n.op_type == "Constant" and len(n.attribute) == 1 and n.attribute[0].name == "value":
            t = onnx.TensorProto()
            t.CopyFrom(n.attribute[0].t)
            t.name = n.output[0]
            m.graph.initializer.append(t)
        else:
            keep.append(n)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def _drop_unused_initializers(path: Path) -> None:
    """The quantizer leaves the min/max of fused Clips behind; ORT then warns once per tensor."""
    import onnx

    m = onnx.load(str(path))
    used = {i for n in m.graph.node for i in n.input} | {o.name for o in m.graph.output}
    keep = [t for t in m.graph.initializer if t.name in used]
    if len(keep) != len(m.graph.initializer):
        del m.graph.initializer[:]
        m.graph.initializer.extend(keep)
        onnx.save(m, str(path))


def fp32_onnx(cache: Path | None = None) -> Path:
    """The pretrained MobileNetV2 as FP32 ONNX, exported once and cached by the weights' sha256."""
    import torch

    from edgekit.models.mobilenetv2 import file_sha256, mobilenet_v2, pretrained_weights_path

    weights = pretrained_weights_path()
    key = hashlib.sha256(
        f"{file_sha256(weights)}|torch {torch.__version__}|opset {OPSET}|v{EXPORT_VERSION}".encode()
    ).hexdigest()[:16]
    path = (cache or cache_root()) / "mobilenetv2" / key / "mobilenetv2_fp32.onnx"
    if not path.is_file():
        export_onnx(mobilenet_v2(pretrained=True), path)
    return path


class _Reader:
    """An ONNX Runtime CalibrationDataReader over a preprocessed NCHW float32 batch."""

    def __init__(self, x: np.ndarray, input_name: str = "input") -> None:
        self.x = x
        self.name = input_name
        self.i = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.i >= len(self.x):
            return None
        self.i += 1
        return {self.name: self.x[self.i - 1 : self.i]}

    def rewind(self) -> None:
        self.i = 0


def _calib_key(fp32: Path, calib: np.ndarray, *parts: str) -> str:
    from edgekit.bundle import sha256_file

    h = hashlib.sha256(sha256_file(fp32).encode())
    h.update(np.ascontiguousarray(calib, np.float32).tobytes())
    h.update("|".join((QUANT_VERSION, *parts)).encode())
    return h.hexdigest()[:16]


def _check_calib(calib: np.ndarray) -> None:
    if calib.ndim != 4 or calib.shape[0] < 1 or calib.dtype != np.float32:
        raise ConfigError(f"calibration data must be a float32 NCHW batch, got {calib.dtype} {calib.shape}",
                          "preprocess the calibration photos with the example's spec")


def quantize_cpu(fp32: Path, out: Path, calib: np.ndarray) -> Path:
    """ORT CPU INT8: QOperator (QLinearConv), per-channel QInt8 weights, QUInt8 activations."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    _check_calib(calib)
    gemms = [n.name for n in onnx.load(str(fp32)).graph.node if n.op_type in ("Gemm", "MatMul")]

    def make(tmp: Path) -> None:
        quantize_static(
            str(fp32), str(tmp), _Reader(calib), quant_format=QuantFormat.QOperator, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=gemms,
        )
        _drop_unused_initializers(tmp)

    return _atomic(out, make)


def quantize_trt_qdq(fp32: Path, out: Path, calib: np.ndarray, method: CalibMethod = "percentile",
                     percentile: float = 99.999) -> Path:
    """TensorRT INT8: Q/DQ in front of Conv/Gemm inputs, symmetric (zero point 0), per-channel weights."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    _check_calib(calib)
    extra = {
        "ActivationSymmetric": True,
        "WeightSymmetric": True,
        "QuantizeBias": False,
        "QDQKeepRemovableActivations": True,
        "OpTypesToExcludeOutputQuantization": ["Conv", "Gemm"],
        "CalibPercentile": percentile,
    }
    cm = CalibrationMethod.Percentile if method == "percentile" else CalibrationMethod.MinMax

    def make(tmp: Path) -> None:
        quantize_static(
            str(fp32), str(tmp), _Reader(calib), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv", "Gemm"], calibrate_method=cm, extra_options=extra,
        )
        _drop_unused_initializers(tmp)

    return _atomic(out, make)


def cached_quantized(fp32: Path, calib: np.ndarray, flavour: Literal["trt_qdq", "ort_cpu"],
                     method: CalibMethod = "percentile") -> Path:
    """The quantized model for ``flavour``, from the cache when the FP32 model and calibration match."""
    key = _calib_key(fp32, calib, flavour, method if flavour == "trt_qdq" else "minmax")
    path = fp32.parent / f"mobilenetv2_int8_{flavour}_{key}.onnx"
    if not path.is_file():
        if flavour == "ort_cpu":
            quantize_cpu(fp32, path, calib)
        else:
            quantize_trt_qdq(fp32, path, calib, method)
    return path
