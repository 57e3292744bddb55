"""Q/DQ validity for TensorRT explicit INT8, on hand-made graphs and on a real ORT-quantized model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper
from trt_graphs import conv_w, init, model, run

from edgekit.trt.check import check_model


def qdq_conv(
    zp_act: int = 0,
    act_type: int = TensorProto.INT8,
    w_axis: int = 0,
    act_scales: int = 1,
    bias_int32: bool = False,
    w_scale: float = 0.01,
) -> object:
    w = conv_w(8, 4)
    wq = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)
    np_t = {TensorProto.INT8: np.int8, TensorProto.UINT8: np.uint8}[act_type]
    inits = [
        init("a_s", np.full(act_scales, 0.02, np.float32) if act_scales > 1 else np.array(0.02, np.float32)),
        init("a_z", np.full(act_scales, zp_act, np_t) if act_scales > 1 else np.array(zp_act, np_t)),
        init("wq", wq),
        init("w_s", np.full(8 if w_axis == 0 else 4, w_scale, np.float32)),
        init("w_z", np.zeros(8 if w_axis == 0 else 4, np.int8)),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "a_s", "a_z"], ["xq"], name="q_in", axis=1),
        helper.make_node("DequantizeLinear", ["xq", "a_s", "a_z"], ["xd"], name="dq_in", axis=1),
        helper.make_node("DequantizeLinear", ["wq", "w_s", "w_z"], ["wd"], name="dq_w", axis=w_axis),
    ]
    conv_in = ["xd", "wd"]
    if bias_int32:
        inits += [init("bq", np.zeros(8, np.int32)), init("b_s", np.full(8, 1e-4, np.float32))]
        nodes.append(helper.make_node("DequantizeLinear", ["bq", "b_s"], ["bd"], name="dq_b", axis=0))
        conv_in.append("bd")
    nodes.append(helper.make_node("Conv", conv_in, ["y"], name="conv", pads=[1, 1, 1, 1]))
    return model(nodes, [1, 4, 8, 8], inits)


def rules(m: object, device: str = "jetson-orin") -> set[str]:
    return {f.rule for f in run(m, device, "int8", use_dla=False).errors}  # type: ignore[arg-type]


def test_valid_trt_qdq_has_no_findings() -> None:
    rep = run(qdq_conv(), "jetson-xavier", "int8", use_dla=False)  # type: ignore[arg-type]
    assert rep.ok and not rep.warnings
    assert [lv.node for lv in rep.layers] == ["conv"]  # Q/DQ nodes are not layers


def test_zero_point_must_be_zero() -> None:
    assert rules(qdq_conv(zp_act=3)) == {"qdq.zero_point"}


def test_uint8_is_rejected() -> None:
    assert "qdq.type" in rules(qdq_conv(act_type=TensorProto.UINT8))


def test_int32_bias_dq_is_rejected() -> None:
    assert rules(qdq_conv(bias_int32=True)) == {"qdq.type"}


def test_weight_axis_must_be_output_channels() -> None:
    assert rules(qdq_conv(w_axis=1)) == {"qdq.weight_axis"}


def test_activations_per_tensor() -> None:
    assert rules(qdq_conv(act_scales=4)) == {"qdq.activation_per_tensor"}


def test_scale_must_be_positive() -> None:
    assert "qdq.scale_positive" in rules(qdq_conv(w_scale=-0.01))


def test_real_ort_qdq_models(qdq_model: Path, ort_qdq_with_int32_bias: Path) -> None:
    good = check_model(qdq_model, "jetson-xavier", "int8", use_dla=False)
    assert good.ok, [f.message for f in good.errors]
    bad = check_model(ort_qdq_with_int32_bias, "jetson-xavier", "int8", use_dla=False)
    assert {f.rule for f in bad.errors} == {"qdq.type"} and len(bad.errors) == 3  # three biases
    on_dla = check_model(qdq_model, "jetson-xavier", "int8", use_dla=True)
    assert "dla.qdq" in {f.rule for f in on_dla.errors}
    auto = check_model(qdq_model, "jetson-xavier")  # auto: int8 on the GPU, with a pointer to the DLA form
    assert auto.precision == "int8" and not auto.use_dla and auto.ok
    assert "dla.qdq_gpu_only" in {f.rule for f in auto.infos}
