"""Roofline estimate: hand-computed compute- and memory-bound layers, DLA placement and transitions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgekit.bench.roofline import (
    LAYER_OVERHEAD_US,
    RUN_OVERHEAD_US,
    TRANSITION_US,
    estimate,
    normalize_placement,
)
from edgekit.errors import InputError
from edgekit.profiles import get_profile

F = TensorProto.FLOAT


def _save(tmp_path: Path, nodes, inputs, inits, name: str = "m.onnx") -> Path:  # type: ignore[no-untyped-def]
    g = helper.make_graph(
        nodes, "g", inputs, [helper.make_tensor_value_info(nodes[-1].output[0], F, None)], inits
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    p = tmp_path / name
    onnx.save(m, str(p))
    return p


def test_compute_bound_matmul_on_cpu(tmp_path: Path) -> None:
    # 256x512 @ 512x512: MACs 67,108,864 -> 2*MACs / (87 GFLOP/s) = 1.5427 ms;
    # bytes (256*512 + 512*512 + 256*512)*4 = 2,097,152 -> / 27 GB/s = 0.0777 ms: compute-bound
    w = numpy_helper.from_array(np.zeros([512, 512], np.float32), "W")
    p = _save(
        tmp_path,
        [helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm")],
        [helper.make_tensor_value_info("X", F, [256, 512])],
        [w],
    )
    prof = get_profile("cpu")
    e = estimate(p, prof, "fp32")
    cpu = e["targets"]["cpu"]
    (layer,) = cpu["layers"]
    macs = 256 * 512 * 512
    assert e["macs"] == macs and e["bytes"] == (256 * 512 * 2 + 512 * 512) * 4
    want_compute = 2 * macs / (prof.peak.fp32_gflops * 1e9) * 1e3
    assert layer["compute_ms"] == pytest.approx(want_compute)
    assert layer["bound"] == "compute"
    want_total = want_compute + (LAYER_OVERHEAD_US["cpu"] + RUN_OVERHEAD_US["cpu"]) / 1e3
    assert cpu["total_ms"] == pytest.approx(want_total)
    # int8 uses the int8 peak and 1-byte tensors
    e8 = estimate(p, prof, "int8")
    assert e8["targets"]["cpu"]["layers"][0]["compute_ms"] == pytest.approx(
        2 * macs / (prof.peak.int8_gops * 1e9) * 1e3
    )
    assert e8["bytes"] == e["bytes"] // 4


def test_memory_bound_relu(tmp_path: Path) -> None:
    # Relu on 1x64x128x128: 0 MACs, reads + writes 2 * 1,048,576 floats = 8 MiB -> / 27 GB/s
    p = _save(
        tmp_path,
        [helper.make_node("Relu", ["X"], ["Y"], name="relu")],
        [helper.make_tensor_value_info("X", F, [1, 64, 128, 128])],
        [],
    )
    prof = get_profile("cpu")
    (layer,) = estimate(p, prof, "fp32")["targets"]["cpu"]["layers"]
    assert layer["macs"] == 0 and layer["bound"] == "memory"
    assert layer["memory_ms"] == pytest.approx(
        2 * 64 * 128 * 128 * 4 / (prof.memory.bandwidth_gbps * 1e9) * 1e3
    )


def _two_convs(tmp_path: Path) -> Path:
    nodes = [
        helper.make_node("Conv", ["X", "W1"], ["a"], pads=[1, 1, 1, 1], name="c1"),
        helper.make_node("Relu", ["a"], ["b"], name="r1"),
        helper.make_node("Conv", ["b", "W2"], ["c"], pads=[1, 1, 1, 1], name="c2"),
        helper.make_node("GlobalAveragePool", ["c"], ["Y"], name="gap"),
    ]
    inits = [
        numpy_helper.from_array(np.zeros([16, 3, 3, 3], np.float32), "W1"),
        numpy_helper.from_array(np.zeros([16, 16, 3, 3], np.float32), "W2"),
    ]
    return _save(tmp_path, nodes, [helper.make_tensor_value_info("X", F, ["N", 3, 32, 32])], inits)


def test_dla_placement_given(tmp_path: Path) -> None:
    p = _two_convs(tmp_path)
    prof = get_profile("jetson-xavier")
    e = estimate(p, prof, "int8", placement={"c1": "DLA", "c2": "GPU", "gap": "DLA"})
    assert set(e["targets"]) == {"gpu", "dla"}
    dla = e["targets"]["dla"]
    assert [r["unit"] for r in dla["layers"]] == ["dla", "gpu", "dla"]
    assert dla["transitions"] == 2 and dla["layers_on_gpu"] == 1
    assert dla["transition_ms"] == pytest.approx(2 * TRANSITION_US / 1e3)
    assert e["placement_source"] == "given"
    # all on DLA: no transition, and the DLA's own peak for every layer
    e2 = estimate(p, prof, "int8", placement={"c1": "DLA", "c2": "DLA", "gap": "DLA"})
    assert e2["targets"]["dla"]["transitions"] == 0
    assert e2["targets"]["dla"]["peak_gops"] == prof.peak.dla_int8_gops
    # fp32 has no DLA mode: the DLA estimate runs at fp16 and says so
    e3 = estimate(p, prof, "fp32", placement={})
    assert e3["targets"]["dla"]["precision"] == "fp16"
    assert any("Jetson" in a and "unverified" in a for a in e3["assumptions"])


def test_profile_without_dla_has_gpu_only(tmp_path: Path) -> None:
    e = estimate(_two_convs(tmp_path), get_profile("jetson-orin-nano"), "fp16")
    assert set(e["targets"]) == {"gpu"}


def test_batch_scales_macs(tmp_path: Path) -> None:
    p = _two_convs(tmp_path)
    one = estimate(p, get_profile("cpu"), "fp32", batch=1)
    four = estimate(p, get_profile("cpu"), "fp32", batch=4)
    # c1: 16*32*32*27 = 442,368; c2: 16*32*32*144 = 2,359,296 -> 2,801,664 per image
    assert one["macs"] == 2_801_664 and four["macs"] == 4 * 2_801_664


@dataclass(frozen=True)
class _Verdict:  # the shape of edgekit.trt.check.LayerVerdict
    node: str
    op: str
    where: str


def test_normalize_placement_forms() -> None:
    assert normalize_placement({"a": "dla", "b": "GPU"}) == {"a": "DLA", "b": "GPU"}
    got = normalize_placement(
        [_Verdict("a", "Conv", "dla"), _Verdict("b", "Softmax", "cannot"), {"name": "c", "device": "GPU"}]
    )
    assert got == {"a": "DLA", "b": "GPU", "c": "GPU"}


def test_bad_precision(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        estimate(_two_convs(tmp_path), get_profile("cpu"), "int4")
