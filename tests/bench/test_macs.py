"""The MAC / bytes counter against hand-computed values on small graphs built with onnx.helper.

Each expected number is worked out in the comment next to it; an off-by-one in an output size (padding,
stride, dilation, groups) changes it. Output shapes are also checked against a real ONNX Runtime run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgekit.bench.macs import conv_output_shape, count_model
from edgekit.errors import InputError

F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, inits, opset: int = 17) -> onnx.ModelProto:  # type: ignore[no-untyped-def]
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    return m


def _w(name: str, shape: list[int], dtype=np.float32) -> onnx.TensorProto:  # type: ignore[no-untyped-def]
    return numpy_helper.from_array(np.random.default_rng(0).standard_normal(shape).astype(dtype), name)


def _conv(x_shape: list[int], w_shape: list[int], bias: bool = False, **attrs) -> onnx.ModelProto:  # type: ignore[no-untyped-def]
    inits = [_w("W", w_shape)] + ([_w("B", [w_shape[0]])] if bias else [])
    node = helper.make_node("Conv", ["X", "W"] + (["B"] if bias else []), ["Y"], name="conv", **attrs)
    return _model(
        [node],
        [helper.make_tensor_value_info("X", F, x_shape)],
        [helper.make_tensor_value_info("Y", F, None)],
        inits,
    )


def _ort_shape(m: onnx.ModelProto, x_shape: list[int]) -> list[int]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return list(s.run(None, {"X": np.zeros(x_shape, np.float32)})[0].shape)


def test_grouped_strided_padded_conv() -> None:
    # X 1x4x9x9, W 6x2x3x3 (group 2), stride 2, pads 1: H_out = (9 + 1 + 1 - 3) // 2 + 1 = 5
    # MACs = N*Cout*Hout*Wout * (Cin/group)*kh*kw = 1*6*5*5 * 2*3*3 = 2700
    m = _conv([1, 4, 9, 9], [6, 2, 3, 3], group=2, strides=[2, 2], pads=[1, 1, 1, 1])
    c = count_model(m)
    assert [la.macs for la in c.layers] == [2700]
    assert c.layers[0].out_shape == [1, 6, 5, 5] == _ort_shape(m, [1, 4, 9, 9])


def test_conv_without_padding_differs() -> None:
    # same conv with no padding: H_out = (9 - 3) // 2 + 1 = 4 -> 6*4*4 * 18 = 1728 (catches ignoring pads)
    m = _conv([1, 4, 9, 9], [6, 2, 3, 3], group=2, strides=[2, 2])
    assert count_model(m).macs == 1728


def test_depthwise_conv() -> None:
    # X 1x8x10x10, W 8x1x3x3, group 8, no pad, stride 1: 8x8 out; MACs = 8*8*8 * 1*3*3 = 4608
    m = _conv([1, 8, 10, 10], [8, 1, 3, 3], group=8)
    c = count_model(m)
    assert c.macs == 4608
    assert c.layers[0].out_shape == [1, 8, 8, 8] == _ort_shape(m, [1, 8, 10, 10])


def test_dilated_conv_with_asymmetric_pads() -> None:
    # dilation 2: effective kernel 5. pads [top 1, left 0, bottom 2, right 1]
    # H_out = (11 + 1 + 2 - 5) // 1 + 1 = 10; W_out = (11 + 0 + 1 - 5) + 1 = 8
    # MACs = 4*10*8 * 3*3*3 = 8640
    m = _conv([1, 3, 11, 11], [4, 3, 3, 3], dilations=[2, 2], pads=[1, 0, 2, 1])
    c = count_model(m)
    assert c.layers[0].out_shape == [1, 4, 10, 8] == _ort_shape(m, [1, 3, 11, 11])
    assert c.macs == 8640


def test_same_upper_stride_two() -> None:
    # auto_pad SAME_UPPER, stride 2 on 7: ceil(7/2) = 4 -> 2*4*4 * 1*3*3 = 288
    m = _conv([1, 1, 7, 7], [2, 1, 3, 3], auto_pad="SAME_UPPER", strides=[2, 2])
    c = count_model(m)
    assert c.layers[0].out_shape == [1, 2, 4, 4] == _ort_shape(m, [1, 1, 7, 7])
    assert c.macs == 288


@pytest.mark.parametrize(
    ("x", "w", "attrs"),
    [
        ([1, 3, 15, 13], [5, 3, 4, 2], {"strides": [3, 2], "pads": [2, 1, 0, 1]}),
        (
            [2, 6, 12, 12],
            [6, 2, 5, 5],
            {"group": 3, "strides": [2, 2], "pads": [2, 2, 2, 2], "dilations": [1, 2]},
        ),
        ([1, 4, 8, 8], [4, 1, 3, 3], {"group": 4, "auto_pad": "SAME_LOWER", "strides": [3, 3]}),
        ([1, 2, 9, 9], [3, 2, 2, 2], {"auto_pad": "VALID", "strides": [2, 2]}),
    ],
)
def test_conv_output_shape_matches_onnxruntime(x: list[int], w: list[int], attrs: dict) -> None:  # type: ignore[type-arg]
    m = _conv(x, w, **attrs)
    assert conv_output_shape(m.graph.node[0], x, w) == _ort_shape(m, x)


def test_gemm_trans_b_and_batch() -> None:
    # A Nx5, B 3x5 with transB: MACs = N*3*5 -> 15 at batch 1, 60 at batch 4
    m = _model(
        [helper.make_node("Gemm", ["X", "B", "C"], ["Y"], transB=1)],
        [helper.make_tensor_value_info("X", F, ["N", 5])],
        [helper.make_tensor_value_info("Y", F, None)],
        [_w("B", [3, 5]), _w("C", [3])],
    )
    assert count_model(m, batch=1).macs == 15
    c = count_model(m, batch=4)
    assert c.macs == 60
    # bytes: weights 3*5*4 + bias 3*4 = 72; in 4*5*4 = 80; out 4*3*4 = 48
    la = c.layers[0]
    assert (la.weight_bytes, la.in_bytes, la.out_bytes) == (72, 80, 48)
    # at fp16 every float tensor halves
    h = count_model(m, batch=4, precision="fp16").layers[0]
    assert (h.weight_bytes, h.in_bytes, h.out_bytes) == (36, 40, 24)


def test_gemm_trans_a() -> None:
    # A is 7x2 with transA -> M=2, K=7; B 7x4 -> MACs = 2*4*7 = 56
    m = _model(
        [helper.make_node("Gemm", ["X", "B"], ["Y"], transA=1)],
        [helper.make_tensor_value_info("X", F, [7, 2])],
        [helper.make_tensor_value_info("Y", F, None)],
        [_w("B", [7, 4])],
    )
    assert count_model(m).macs == 56


def test_batched_matmul_broadcast() -> None:
    # [2,3,4,5] @ [5,6] -> [2,3,4,6]; MACs = 2*3*4*6 * 5 = 720
    m = _model(
        [helper.make_node("MatMul", ["X", "B"], ["Y"])],
        [helper.make_tensor_value_info("X", F, [2, 3, 4, 5])],
        [helper.make_tensor_value_info("Y", F, None)],
        [_w("B", [5, 6])],
    )
    c = count_model(m)
    assert c.macs == 720
    assert c.layers[0].out_shape == [2, 3, 4, 6]


def test_conv_bn_relu_fuse_into_one_layer() -> None:
    # Conv 1x3x8x8 -> 4x3x3x3 pad 1 (8x8 out): MACs = 4*64*27 = 6912; BN and Relu fuse (one layer)
    inits = [_w("W", [4, 3, 3, 3]), _w("s", [4]), _w("b", [4]), _w("mu", [4]), _w("var", [4])]
    nodes = [
        helper.make_node("Conv", ["X", "W"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("BatchNormalization", ["c", "s", "b", "mu", "var"], ["n"], name="bn"),
        helper.make_node("Relu", ["n"], ["Y"], name="relu"),
    ]
    m = _model(
        nodes,
        [helper.make_tensor_value_info("X", F, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("Y", F, None)],
        inits,
    )
    c = count_model(m)
    assert len(c.layers) == 1
    la = c.layers[0]
    assert la.macs == 6912
    assert la.fused == ["BatchNormalization", "Relu"]
    # weights: conv 4*27*4 = 432 + BN 4 vectors of 4 floats = 64 -> 496; in 3*64*4 = 768; out 4*64*4 = 1024
    assert (la.weight_bytes, la.in_bytes, la.out_bytes) == (496, 768, 1024)


def test_qdq_weights_count_as_int8() -> None:
    # DQ(int8 W 4x2x1x1) -> Conv on X 1x2x5x5 (1x1 conv): MACs = 4*25*2 = 200; weight bytes 8 (int8) + scale
    w = numpy_helper.from_array(np.ones([4, 2, 1, 1], np.int8), "Wq")
    scale = numpy_helper.from_array(np.array(0.1, np.float32), "ws")
    nodes = [
        helper.make_node("DequantizeLinear", ["Wq", "ws"], ["W"]),
        helper.make_node("Conv", ["X", "W"], ["Y"], name="conv"),
    ]
    m = _model(
        nodes,
        [helper.make_tensor_value_info("X", F, [1, 2, 5, 5])],
        [helper.make_tensor_value_info("Y", F, None)],
        [w, scale],
    )
    c = count_model(m)
    assert c.macs == 200
    assert len(c.layers) == 1 and c.layers[0].weight_bytes == 8  # the DQ output is read as its int8 input


def test_tiny_bundle_models(tiny_bundle: Path) -> None:
    # conv1 28*28*8 * 1*9 = 56448; conv2 14*14*16 * 8*9 = 225792; fc 784*10 = 7840 -> 290080 per image
    for f in ("student_fp32.onnx", "student_int8_cpu.onnx"):
        c = count_model(tiny_bundle / "models" / f, batch=1)
        assert c.macs == 290080, f
        assert count_model(tiny_bundle / "models" / f, batch=8).macs == 8 * 290080
    # the INT8 (QOperator) model moves fewer bytes than FP32
    assert (
        count_model(tiny_bundle / "models" / "student_int8_cpu.onnx").bytes
        < count_model(tiny_bundle / "models" / "student_fp32.onnx").bytes / 3
    )


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        count_model(tmp_path / "nope.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf at all \x00\xff")
    with pytest.raises(InputError, match="not a readable ONNX"):
        count_model(tmp_path / "junk.onnx")
    m = _conv([1, 1, 7, 7], [2, 1, 3, 3])
    with pytest.raises(InputError, match="precision"):
        count_model(m, precision="int4")


def test_residual_add_fuses_into_the_conv_it_reads() -> None:
    # y = x + conv(x): the Add reads the skip (x) and the conv output; the conv output has one reader,
    # so the Add joins the conv's layer (whichever input order), and the skip is counted as read bytes.
    # conv 1x4x6x6 -> 4x4x3x3 pad 1: MACs = 4*36*36 = 5184
    for order in (["x", "c"], ["c", "x"]):
        nodes = [
            helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1], name="conv"),
            helper.make_node("Add", order, ["Y"], name="add"),
        ]
        m = _model(
            nodes,
            [helper.make_tensor_value_info("x", F, [1, 4, 6, 6])],
            [helper.make_tensor_value_info("Y", F, None)],
            [_w("W", [4, 4, 3, 3])],
        )
        (la,) = count_model(m).layers
        assert la.macs == 5184 and la.fused == ["Add"]
        assert la.in_bytes == 2 * 144 * 4  # x read by the conv and again as the skip


def test_contrib_quantized_ops_are_sized() -> None:
    # QLinearConv -> com.microsoft QLinearAdd -> QLinearConv: onnx shape inference knows no QLinearAdd;
    # the second conv must still be sized: 1x2x5x5 -> W 3x2x1x1: MACs = 3*25*2 = 150 (first: 2*25*2 = 100)
    u8 = TensorProto.UINT8

    def q(name: str, val, dt=np.float32) -> onnx.TensorProto:  # type: ignore[no-untyped-def]
        return numpy_helper.from_array(np.array(val, dt), name)

    inits = [
        q("s", 0.1),
        q("z", 0, np.uint8),
        q("ws", [0.1, 0.1], np.float32),
        q("wz", [0, 0], np.int8),
        numpy_helper.from_array(np.ones([2, 2, 1, 1], np.int8), "W1"),
        numpy_helper.from_array(np.ones([3, 2, 1, 1], np.int8), "W2"),
        q("ws2", [0.1, 0.1, 0.1], np.float32),
        q("wz2", [0, 0, 0], np.int8),
    ]
    nodes = [
        helper.make_node("QLinearConv", ["X", "s", "z", "W1", "ws", "wz", "s", "z"], ["a"], name="c1"),
        helper.make_node(
            "QLinearAdd", ["a", "s", "z", "X", "s", "z", "s", "z"], ["b"], domain="com.microsoft", name="add"
        ),
        helper.make_node("QLinearConv", ["b", "s", "z", "W2", "ws2", "wz2", "s", "z"], ["Y"], name="c2"),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("X", u8, [1, 2, 5, 5])],
        [helper.make_tensor_value_info("Y", u8, None)],
        inits,
    )
    m = helper.make_model(
        g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)], ir_version=8
    )
    c = count_model(m)
    assert [la.macs for la in c.layers] == [100, 150]
    assert c.layers[1].out_shape == [1, 3, 5, 5] and c.layers[1].out_bytes == 75  # uint8
