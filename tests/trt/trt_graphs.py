"""Small ONNX graphs for the TensorRT / DLA rule tests, built with onnx.helper (no files needed)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgekit.profiles import DeviceProfile, get_profile
from edgekit.trt.check import CheckReport, check_graph
from edgekit.trt.graph import from_model

F = TensorProto.FLOAT


def init(name: str, arr: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(arr, name)


def conv_w(cout: int, cin_per_group: int, k: int | tuple[int, int] = 3) -> np.ndarray:
    kh, kw = (k, k) if isinstance(k, int) else k
    return np.random.default_rng(0).standard_normal((cout, cin_per_group, kh, kw)).astype(np.float32) * 0.1


def model(
    nodes: list[onnx.NodeProto],
    x_shape: list[object],
    inits: list[onnx.TensorProto] | None = None,
    opset: int = 13,
    extra_inputs: list[onnx.ValueInfoProto] | None = None,
    out: str = "y",
) -> onnx.ModelProto:
    g = helper.make_graph(
        nodes,
        "t",
        [helper.make_tensor_value_info("x", F, x_shape), *(extra_inputs or [])],
        [helper.make_tensor_value_info(out, F, None)],
        initializer=inits or [],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def run(
    m: onnx.ModelProto,
    device: str | DeviceProfile = "jetson-orin",
    precision: str = "fp16",
    use_dla: bool | None = True,
) -> CheckReport:
    return check_graph(from_model(m), device, precision, use_dla)


def verdict(rep: CheckReport, node: str) -> tuple[str, str]:
    lv = next(lv for lv in rep.layers if lv.node == node)
    return lv.where, lv.rule


def with_trt(profile: str, version: str) -> DeviceProfile:
    p = get_profile(profile)
    assert p.tensorrt is not None
    return p.model_copy(update={"tensorrt": p.tensorrt.model_copy(update={"version": version})})


def conv_model(
    cout: int = 8, cin: int = 4, k: int | tuple[int, int] = 3, hw: int = 16, group: int = 1, **attrs: object
) -> onnx.ModelProto:
    n = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", group=group, **attrs)
    return model([n], [1, cin, hw, hw], [init("w", conv_w(cout, cin // group, k))])
