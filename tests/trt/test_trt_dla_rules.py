"""Each DLA rule: a graph that breaks it (falls back to the GPU, with that rule id) and, where the rule is a
limit, a neighbour within the limit (runs on the DLA). Removing a rule makes its test fail."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from trt_graphs import F, conv_model, conv_w, init, model, run, verdict


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"k": 33, "hw": 40}, "dla.conv.kernel"),
        ({"k": 3, "strides": [9, 9]}, "dla.conv.stride"),
        ({"k": 3, "pads": [3, 3, 3, 3]}, "dla.conv.padding"),  # padding must be < kernel
        ({"k": 33, "hw": 80, "pads": [32, 32, 32, 32]}, "dla.conv.kernel"),
        ({"k": 3, "dilations": [33, 33], "hw": 80}, "dla.conv.dilation"),
        ({"cout": 8193, "k": 1, "hw": 4}, "dla.conv.output_maps"),
    ],
)
def test_conv_limits_fall_back(kwargs: dict[str, object], rule: str) -> None:
    rep = run(conv_model(**kwargs))  # type: ignore[arg-type]
    assert verdict(rep, "conv") == ("gpu", rule)
    assert any(f.rule == rule and f.severity == "warning" and f.fix for f in rep.findings)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"k": 32, "hw": 40},
        {"k": 3, "strides": [8, 8]},
        {"k": 5, "pads": [4, 4, 4, 4]},
        {"k": 3, "dilations": [32, 32], "hw": 80},
        {"cout": 8192, "k": 1, "hw": 4},
    ],
)
def test_conv_at_the_limits_runs_on_dla(kwargs: dict[str, object]) -> None:
    assert verdict(run(conv_model(**kwargs)), "conv")[0] == "dla"  # type: ignore[arg-type]


def test_int8_grouped_conv_needs_group_size_multiple_of_4() -> None:
    bad = conv_model(cout=6, cin=6, group=2)  # 3 channels per group
    assert verdict(run(bad, precision="int8"), "conv") == ("gpu", "dla.conv.int8_group_size")
    assert verdict(run(bad, precision="fp16"), "conv")[0] == "dla"  # the rule is INT8-only
    good = conv_model(cout=8, cin=8, group=2)  # 4 per group
    assert verdict(run(good, precision="int8"), "conv")[0] == "dla"


def test_conv_needs_constant_weights_and_2d() -> None:
    n = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    m = model([n], [1, 4, 8, 8], extra_inputs=[helper.make_tensor_value_info("w", F, [8, 4, 3, 3])])
    assert verdict(run(m), "conv") == ("gpu", "dla.conv.weights")
    n1 = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    m1 = model([n1], [1, 4, 16], [init("w", np.ones((8, 4, 3), np.float32))])
    assert verdict(run(m1), "conv") == ("gpu", "dla.conv.rank")


def _pool(op: str = "MaxPool", hw: int = 32, **attrs: object) -> object:
    return model([helper.make_node(op, ["x"], ["y"], name="pool", **attrs)], [1, 4, hw, hw])


@pytest.mark.parametrize(
    ("attrs", "rule"),
    [
        ({"kernel_shape": [9, 9]}, "dla.pool.window"),
        ({"kernel_shape": [2, 2], "strides": [17, 17]}, "dla.pool.stride"),
        ({"kernel_shape": [8, 8], "pads": [8, 8, 8, 8]}, "dla.pool.padding"),
    ],
)
def test_pool_limits(attrs: dict[str, object], rule: str) -> None:
    assert verdict(run(_pool(**attrs)), "pool") == ("gpu", rule)  # type: ignore[arg-type]


def test_pool_within_limits_and_global_pool_window() -> None:
    assert verdict(run(_pool(kernel_shape=[8, 8], strides=[16, 16], pads=[7, 7, 7, 7])), "pool")[0] == "dla"  # type: ignore[arg-type]
    assert verdict(run(_pool("GlobalAveragePool", hw=7)), "pool")[0] == "dla"  # type: ignore[arg-type]
    assert verdict(run(_pool("GlobalAveragePool", hw=9)), "pool") == ("gpu", "dla.pool.window")  # type: ignore[arg-type]


def test_xavier_average_pool_inclusive_padding_only() -> None:
    m = _pool("AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0)
    assert verdict(run(m, "jetson-xavier"), "pool") == ("gpu", "dla.pool.exclusive_padding")  # type: ignore[arg-type]
    assert verdict(run(m, "jetson-orin"), "pool")[0] == "dla"  # type: ignore[arg-type]
    incl = _pool("AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)
    assert verdict(run(incl, "jetson-xavier"), "pool")[0] == "dla"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("op", "where"),
    [
        ("Relu", "dla"),
        ("Sigmoid", "dla"),
        ("Tanh", "dla"),
        ("LeakyRelu", "dla"),
        ("HardSwish", "gpu"),
        ("Elu", "gpu"),
    ],
)
def test_activation_types(op: str, where: str) -> None:
    rep = run(model([helper.make_node(op, ["x"], ["y"], name="act")], [1, 4, 8, 8], opset=14))
    assert verdict(rep, "act")[0] == where
    if where == "gpu":
        assert verdict(rep, "act")[1] == "dla.activation.type"


def test_prelu_slope_must_be_constant() -> None:
    n = helper.make_node("PRelu", ["x", "s"], ["y"], name="act")
    const = model([n], [1, 4, 8, 8], [init("s", np.full((4, 1, 1), 0.1, np.float32))])
    var = model([n], [1, 4, 8, 8], extra_inputs=[helper.make_tensor_value_info("s", F, [4, 1, 1])])
    assert verdict(run(const), "act")[0] == "dla"
    assert verdict(run(var), "act") == ("gpu", "dla.prelu.slope")


def test_softmax_not_on_xavier_and_not_on_batch_axis() -> None:
    m = model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1)], [1, 10, 1, 1])
    assert verdict(run(m, "jetson-xavier"), "sm") == ("gpu", "dla.softmax.xavier")
    assert verdict(run(m, "jetson-orin"), "sm")[0] == "dla"
    m0 = model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=0)], [1, 10, 1, 1])
    assert verdict(run(m0, "jetson-orin"), "sm") == ("gpu", "dla.softmax.axis")


def test_concat_only_along_channels() -> None:
    def cat(axis: int) -> object:
        return model([helper.make_node("Concat", ["x", "x"], ["y"], name="cat", axis=axis)], [1, 4, 8, 8])

    assert verdict(run(cat(1)), "cat")[0] == "dla"  # type: ignore[arg-type]
    assert verdict(run(cat(2)), "cat") == ("gpu", "dla.concat.axis")  # type: ignore[arg-type]
    assert verdict(run(cat(-3)), "cat")[0] == "dla"  # type: ignore[arg-type]


def _resize(scales: list[float], mode: str = "nearest") -> object:
    n = helper.make_node("Resize", ["x", "", "s"], ["y"], name="rs", mode=mode)
    return model([n], [1, 4, 8, 8], [init("s", np.array(scales, np.float32))])


def test_resize_scales() -> None:
    assert verdict(run(_resize([1, 1, 2, 2])), "rs")[0] == "dla"  # type: ignore[arg-type]
    assert verdict(run(_resize([1, 1, 1.5, 1.5])), "rs") == ("gpu", "dla.resize.scales")  # type: ignore[arg-type]
    assert verdict(run(_resize([1, 2, 2, 2])), "rs") == ("gpu", "dla.resize.scales")  # type: ignore[arg-type]
    assert verdict(run(_resize([1, 1, 8, 8], "nearest")), "rs")[0] == "dla"  # type: ignore[arg-type]
    assert verdict(run(_resize([1, 1, 8, 8], "linear")), "rs") == ("gpu", "dla.resize.scales")  # type: ignore[arg-type]
    n = helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name="rs")
    sizes = model([n], [1, 4, 8, 8], [init("sz", np.array([1, 4, 24, 24], np.int64))])
    assert verdict(run(sizes), "rs")[0] == "dla"  # 3x from sizes


def _slice(starts: list[int], ends: list[int], axes: list[int], steps: list[int]) -> object:
    n = helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"], name="sl")
    return model(
        [n],
        [2, 4, 8, 8],
        [
            init("st", np.array(starts, np.int64)),
            init("en", np.array(ends, np.int64)),
            init("ax", np.array(axes, np.int64)),
            init("sp", np.array(steps, np.int64)),
        ],
    )


def test_slice_rules() -> None:
    assert verdict(run(_slice([0], [2], [1], [1])), "sl")[0] == "dla"  # type: ignore[arg-type]
    assert verdict(run(_slice([0], [4], [1], [2])), "sl") == ("gpu", "dla.slice.stride")  # type: ignore[arg-type]
    assert verdict(run(_slice([0], [1], [0], [1])), "sl") == ("gpu", "dla.slice.batch")  # type: ignore[arg-type]
    n = helper.make_node("Slice", ["x", "st", "en"], ["y"], name="sl")
    var = model(
        [n],
        [1, 4, 8, 8],
        [init("en", np.array([2, 2, 2, 2], np.int64))],
        extra_inputs=[helper.make_tensor_value_info("st", TensorProto.INT64, [4])],
    )
    assert verdict(run(var), "sl") == ("gpu", "dla.slice.params")


def test_lrn_window() -> None:
    for size, where in ((5, "dla"), (4, "gpu"), (11, "gpu")):
        m = model([helper.make_node("LRN", ["x"], ["y"], name="lrn", size=size)], [1, 4, 8, 8])
        assert verdict(run(m), "lrn") == (where, "dla.ok" if where == "dla" else "dla.lrn.window")


def test_deconvolution_rules() -> None:
    def deconv(**attrs: object) -> object:
        g = int(attrs.get("group", 1))  # type: ignore[call-overload]
        n = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="dc", **attrs)
        return model([n], [1, 4, 8, 8], [init("w", conv_w(4, 4 // g, 2).transpose(1, 0, 2, 3).copy())])

    assert verdict(run(deconv(strides=[2, 2])), "dc")[0] == "dla"  # type: ignore[arg-type]
    assert verdict(run(deconv(pads=[1, 1, 1, 1])), "dc") == ("gpu", "dla.deconv.padding")  # type: ignore[arg-type]
    assert verdict(run(deconv(group=2)), "dc") == ("gpu", "dla.deconv.groups")  # type: ignore[arg-type]
    assert verdict(run(deconv(dilations=[2, 2])), "dc") == ("gpu", "dla.deconv.dilation")  # type: ignore[arg-type]


def test_fc_flatten_and_shuffle() -> None:
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w"], ["y"], name="fc", transB=1),
    ]
    m = model(nodes, [1, 4, 2, 2], [init("w", np.ones((10, 16), np.float32))])
    rep = run(m)
    assert verdict(rep, "flat")[0] == "dla" and verdict(rep, "fc")[0] == "dla"
    mm = model([helper.make_node("MatMul", ["x", "x"], ["y"], name="mm")], [1, 4, 8, 8])
    assert verdict(run(mm), "mm") == ("gpu", "dla.fc.weights")
    ta = model(
        [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transA=1)],
        [4, 2],
        [init("w", np.ones((4, 3), np.float32))],
    )
    assert verdict(run(ta), "fc") == ("gpu", "dla.fc.transA")
    tr = model([helper.make_node("Transpose", ["x"], ["y"], name="tr", perm=[0, 2, 3, 1])], [1, 4, 8, 8])
    assert verdict(run(tr), "tr") == ("gpu", "dla.shuffle")


def test_dynamic_and_oversized_dims() -> None:
    dyn = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [1, 4, "H", 8])
    assert verdict(run(dyn), "r") == ("gpu", "dla.dynamic_shape")
    batch = model([helper.make_node("Relu", ["x"], ["y"], name="r")], ["N", 4, 8, 8])
    rep = run(batch)
    assert verdict(rep, "r")[0] == "dla"  # a dynamic batch is fixed by the build profile
    assert any(f.rule == "dla.dynamic_batch" for f in rep.warnings)
    big = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [1, 4, 2, 9000])
    assert verdict(run(big), "r") == ("gpu", "dla.dim_limit")


def test_other_layers_fall_back() -> None:
    inorm = helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], name="in")
    m = model([inorm], [1, 4, 8, 8], [init("s", np.ones(4, np.float32)), init("b", np.zeros(4, np.float32))])
    assert verdict(run(m), "in") == ("gpu", "dla.normalization")
    ex = model([helper.make_node("Exp", ["x"], ["y"], name="e")], [1, 4, 8, 8])
    assert verdict(run(ex), "e") == ("gpu", "dla.unsupported_layer")
    ab = model([helper.make_node("Abs", ["x"], ["y"], name="a")], [1, 4, 8, 8])
    assert verdict(run(ab), "a")[0] == "dla"


def test_transitions_are_counted() -> None:
    w = init("w", conv_w(4, 4, 1))
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], name="c1"),
        helper.make_node("HardSwish", ["a"], ["b"], name="hs"),
        helper.make_node("Conv", ["b", "w"], ["y"], name="c2"),
    ]
    rep = run(model(nodes, [1, 4, 8, 8], [w], opset=14))
    assert [lv.where for lv in rep.layers] == ["dla", "gpu", "dla"]
    assert rep.transitions == 2
    assert any(f.rule == "dla.transitions" for f in rep.infos)
    nodes_ok = [nodes[0], helper.make_node("Relu", ["a"], ["b"], name="r"), nodes[2]]
    assert run(model(nodes_ok, [1, 4, 8, 8], [w])).transitions == 0


def test_dla_needs_fp16_or_int8_and_no_dla_for_gpu_builds() -> None:
    m = conv_model()
    rep = run(m, precision="fp32")
    assert any(f.rule == "dla.precision" and f.severity == "error" for f in rep.errors)
    gpu = run(m, use_dla=False)
    assert gpu.transitions == 0 and all(lv.where == "gpu-only" for lv in gpu.layers) and gpu.ok


def test_remaining_limits() -> None:
    n = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="dc")
    big_k = model([n], [1, 4, 8, 8], [init("w", conv_w(4, 4, 33))])
    assert verdict(run(big_k), "dc") == ("gpu", "dla.deconv.kernel")
    huge_batch = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [4097, 1, 2, 2])
    assert verdict(run(huge_batch), "r") == ("gpu", "dla.batch_limit")
    pool3d = model(
        [helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[2, 2, 2])], [1, 4, 8, 8, 8]
    )
    assert verdict(run(pool3d), "p") == ("gpu", "dla.pool.rank")
    cubic = helper.make_node("Resize", ["x", "", "s"], ["y"], name="rs", mode="cubic")
    m = model([cubic], [1, 4, 8, 8], [init("s", np.array([1, 1, 2, 2], np.float32))])
    rep = run(m)
    assert verdict(rep, "rs") == ("gpu", "dla.resize.mode")
    assert any(f.rule == "trt.resize_mode" for f in rep.errors)  # TensorRT itself: nearest/linear only


def test_rank_rules_for_deconv_resize_slice() -> None:
    dc = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="n")
    m = model([dc], [1, 4, 8], [init("w", np.ones((4, 4, 2), np.float32))])
    assert verdict(run(m), "n") == ("gpu", "dla.deconv.rank")
    rs = helper.make_node("Resize", ["x", "", "s"], ["y"], name="n")
    m = model([rs], [1, 4, 8], [init("s", np.array([1, 1, 2], np.float32))])
    assert verdict(run(m), "n") == ("gpu", "dla.resize.rank")
    sl = helper.make_node("Slice", ["x", "st", "en", "ax"], ["y"], name="n")
    m = model(
        [sl],
        [1, 4, 8],
        [
            init("st", np.array([0], np.int64)),
            init("en", np.array([2], np.int64)),
            init("ax", np.array([1], np.int64)),
        ],
    )
    assert verdict(run(m), "n") == ("gpu", "dla.slice.rank")


def test_int8_depthwise_depends_on_the_dla_generation() -> None:
    """Xavier (DLA v1): INT8 depthwise with 1 channel per group stays on the GPU (unconfirmed, cited);
    Orin (DLA v2): it runs on the DLA (DLA-SW README runs INT8 SSD-MobileNetV1 there). Each verdict cites."""
    from edgekit.trt.dla_rules import RULE_SOURCES

    dw = conv_model(cout=8, cin=8, group=8)
    v1 = run(dw, device="jetson-xavier", precision="int8")
    assert verdict(v1, "conv") == ("gpu", "dla.conv.int8_group_size")
    v2 = run(dw, device="jetson-orin", precision="int8")
    assert verdict(v2, "conv") == ("dla", "dla.conv.int8_depthwise_v2")
    assert "Deep-Learning-Accelerator-SW" in RULE_SOURCES["dla.conv.int8_depthwise_v2"]
    assert "IConvolutionLayer" in RULE_SOURCES["dla.conv.int8_group_size"]
    # a grouped (not depthwise) conv with 3 channels per group is still refused on v2
    assert verdict(run(conv_model(cout=6, cin=6, group=2), device="jetson-orin", precision="int8"),
                   "conv") == ("gpu", "dla.conv.int8_group_size")


def test_every_dla_verdict_cites_the_guide_of_its_generation() -> None:
    m = conv_model(cout=8, cin=8, group=8)
    v1 = run(m, device="jetson-xavier", precision="int8")
    v2 = run(m, device="jetson-orin", precision="int8")
    assert all("TensorRT 8.5" in lv.source and "DLA v1" in lv.source for lv in v1.layers)
    assert all("DLA v2" in lv.source for lv in v2.layers)
    assert "Deep-Learning-Accelerator-SW" in next(lv.source for lv in v2.layers if lv.node == "conv")
    fallback = next(f for f in v1.findings if f.rule == "dla.conv.int8_group_size")
    assert "IConvolutionLayer" in fallback.source
