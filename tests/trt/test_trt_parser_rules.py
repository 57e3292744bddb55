"""TensorRT-level rules (any device with TensorRT): opset ceiling, operators the parser lacks per version,
INT64/DOUBLE weights on 8.x, custom domains, Resize modes, TopK K; and the opset/op tables themselves."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from trt_graphs import init, model, run, with_trt

from edgekit.errors import ConfigError
from edgekit.trt import ops


def relu(opset: int) -> object:
    return model([helper.make_node("Relu", ["x"], ["y"], name="r")], [1, 4, 8, 8], opset=opset)


def test_opset_ceiling_per_profile() -> None:
    rep = run(relu(17), "jetson-nano", "fp16", use_dla=False)  # TensorRT 8.2: opset <= 13
    assert [f.rule for f in rep.errors] == ["trt.opset"]
    assert "opset_version=13" in rep.errors[0].fix
    assert run(relu(13), "jetson-nano", "fp16", use_dla=False).ok
    assert run(relu(17), "jetson-xavier", "fp16", use_dla=False).ok
    assert not run(relu(18), "jetson-xavier", "fp16", use_dla=False).ok
    assert run(relu(20), "jetson-orin", "fp16", use_dla=False).ok


def test_opset_table() -> None:
    assert ops.opset_ceiling((8, 2, 1)) == 13
    assert ops.opset_ceiling((8, 5, 2)) == 17
    assert ops.opset_ceiling((10, 3, 0)) == 20
    assert ops.opset_ceiling((10, 15, 0)) == 24


def test_unsupported_ops_by_version() -> None:
    ln = helper.make_node("LayerNormalization", ["x", "s"], ["y"], name="ln", axis=-1)
    m = model([ln], [1, 4, 8, 8], [init("s", np.ones(8, np.float32))], opset=17)
    rep85 = run(m, "jetson-xavier", "fp16", use_dla=False)
    assert [f.rule for f in rep85.errors] == ["trt.unsupported_op"]
    assert rep85.layers[0].where == "cannot"
    assert run(m, with_trt("jetson-xavier", "8.6.2"), "fp16", use_dla=False).ok  # LayerNorm from 8.6
    mod = helper.make_node("Mod", ["x", "x"], ["y"], name="mod", fmod=1)
    m2 = model([mod], [1, 4, 8, 8], opset=13)
    assert not run(m2, "jetson-nano", "fp16", use_dla=False).ok  # 8.2 lacks Mod
    assert run(m2, "jetson-xavier", "fp16", use_dla=False).ok  # 8.5 has it
    q = helper.make_node("QLinearMatMul", ["x"] * 8, ["y"], name="qmm")
    assert "trt.unsupported_op" in {
        f.rule for f in run(model([q], [2, 2]), "jetson-orin", "fp16", False).errors
    }


def test_custom_domain_needs_plugin() -> None:
    n = helper.make_node("FusedConv", ["x"], ["y"], name="fc", domain="com.microsoft")
    m = model([n], [1, 4, 8, 8])
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    rep = run(m, "jetson-orin", "fp16", use_dla=True)
    assert "trt.custom_domain" in {f.rule for f in rep.errors}
    assert rep.layers[0].where == "cannot"


def test_int64_weights_on_trt8() -> None:
    big = init("idx", np.array([2**40], np.int64))
    g = helper.make_node("Gather", ["x", "idx"], ["y"], name="g", axis=0)
    m = model([g], [4, 4], [big])
    rep = run(m, "jetson-xavier", "fp16", use_dla=False)
    assert "trt.int64_range" in {f.rule for f in rep.errors}
    assert run(m, "jetson-orin", "fp16", use_dla=False).ok  # native INT64 from TensorRT 9
    small = model(
        [helper.make_node("Gather", ["x", "idx"], ["y"], name="g", axis=0)],
        [4, 4],
        [init("idx", np.array([1], np.int64))],
    )
    rep_small = run(small, "jetson-xavier", "fp16", use_dla=False)
    assert rep_small.ok and "trt.int64_cast" in {f.rule for f in rep_small.infos}
    # torch exports Slice ends as INT64_MAX: clamping is harmless there
    sl = helper.make_node("Slice", ["x", "st", "en"], ["y"], name="sl")
    m3 = model(
        [sl], [4, 4], [init("st", np.array([0], np.int64)), init("en", np.array([2**63 - 1], np.int64))]
    )
    assert run(m3, "jetson-xavier", "fp16", use_dla=False).ok


def test_topk_k_must_be_constant_on_trt8() -> None:
    n = helper.make_node("TopK", ["x", "k"], ["y", "i"], name="tk")
    m = model([n], [1, 10], extra_inputs=[helper.make_tensor_value_info("k", TensorProto.INT64, [1])])
    assert "trt.topk_k" in {f.rule for f in run(m, "jetson-xavier", "fp16", use_dla=False).errors}


def test_bad_requests_are_config_errors() -> None:
    m = relu(13)
    with pytest.raises(ConfigError, match="does not support int8"):
        run(m, "jetson-nano", "int8", use_dla=False)
    with pytest.raises(ConfigError, match="has no DLA"):
        run(m, "jetson-orin-nano", "fp16", use_dla=True)
    with pytest.raises(ConfigError, match="no TensorRT"):
        run(m, "cpu", "fp32", use_dla=False)
    with pytest.raises(ConfigError, match="unknown device"):
        run(m, "jetson-xavr", "fp16")
