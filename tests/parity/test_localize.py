"""The hypotheses behind each diagnosis, on real stage tensors of a real photo (no bundle needed)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgekit.parity import compare, localize
from edgekit.parity.tolerances import output_tolerance, step_atol
from edgekit.preprocess import imagenet_spec, run

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


@pytest.fixture(scope="module")
def stages() -> dict[str, np.ndarray]:
    import skimage.data

    bgr = cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR)
    ok, jpg = cv2.imencode(".jpg", bgr)
    assert ok
    _, st = run(imagenet_spec(size=48, resize_to=56), jpg.tobytes(), collect=True)
    return {s.name: s.tensor for s in st}


def _diag(stages: dict, name: str, got: np.ndarray, prev: str | None = None, interp: str = "linear") -> str:
    step = {"op": compare.op_of(name), "interpolation": interp}
    return localize.diagnose_pair(
        name,
        stages[name],
        got,
        step_atol(step["op"], step),
        stages[prev] if prev else None,
        step,
        "NCHW",
        (MEAN, STD),
    )


def test_channel_swap(stages: dict) -> None:
    assert "channels appear swapped" in _diag(stages, "03_center_crop", stages["03_center_crop"][:, :, ::-1])


def test_mean_offset_is_named_with_implied_values(stages: dict) -> None:
    x = stages["04_to_float"]
    got = (x - np.float32([0.5, 0.456, 0.406])) / np.float32(STD)
    cause = _diag(stages, "05_normalize", got)
    assert "mean mismatch" in cause and "0.5" in cause and "std" not in cause


def test_std_scale_is_named(stages: dict) -> None:
    got = (stages["04_to_float"] - np.float32(MEAN)) / np.float32([0.25, 0.25, 0.25])
    assert "std mismatch (deployed std ≈ [0.25, 0.25, 0.25]" in _diag(stages, "05_normalize", got)


def test_missing_scale(stages: dict) -> None:
    got = stages["03_center_crop"].astype(np.float32)
    assert _diag(stages, "04_to_float", got) == "to_float: values ×255 — missing 1/255 scale"


def test_layout_transposed(stages: dict) -> None:
    got = np.ascontiguousarray(stages["06_layout"].transpose(0, 2, 3, 1))
    assert "NHWC vs NCHW" in _diag(stages, "06_layout", got)


def test_resize_interpolation_found_by_rerunning(stages: dict) -> None:
    prev = stages["01_cvt_color"]
    h, w = stages["02_resize"].shape[:2]
    got = cv2.resize(prev, (w, h), interpolation=cv2.INTER_NEAREST)
    assert "deployed matches nearest" in _diag(stages, "02_resize", got, prev="01_cvt_color")


def test_size_change(stages: dict) -> None:
    got = np.zeros((40, 40, 3), np.uint8)
    assert _diag(stages, "03_center_crop", got) == "input size changed 48x48 → 40x40"


def test_unexplained_difference_says_so(stages: dict) -> None:
    rng = np.random.default_rng(0)
    got = stages["05_normalize"] + rng.normal(0, 0.3, stages["05_normalize"].shape).astype(np.float32)
    assert "no simple cause found" in _diag(stages, "05_normalize", got)


def test_alignment_survives_a_removed_step() -> None:
    al = compare.align(
        ["00_decode", "01_cvt_color", "02_resize", "03_layout"], ["00_decode", "01_resize", "02_layout"]
    )
    assert al.pairs == [
        ("00_decode", "00_decode"),
        ("01_cvt_color", None),
        ("02_resize", "01_resize"),
        ("03_layout", "02_layout"),
    ]
    assert al.extra == []


def test_output_tolerances_loosen_with_precision() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 3, (16, 10)).astype(np.float32)
    got = ref + rng.normal(0, 0.01, ref.shape).astype(np.float32)  # INT8-sized noise
    assert not compare.output_metrics(ref, got, 5, output_tolerance("fp32")).ok
    assert compare.output_metrics(ref, got, 5, output_tolerance("int8")).ok
    flipped = ref.copy()
    flipped[0] = -flipped[0]
    m = compare.output_metrics(ref, flipped, 5, output_tolerance("int8"))
    assert not m.ok and "top1" in m.failed and m.top1 == 15 / 16


def test_gray_conversion_from_the_wrong_channel_order() -> None:
    import skimage.data

    bgr = np.ascontiguousarray(cv2.cvtColor(skimage.data.chelsea(), cv2.COLOR_RGB2BGR))
    ref = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)[:, :, None]
    got = cv2.cvtColor(bgr, cv2.COLOR_RGB2GRAY)[:, :, None]
    step = {"op": "cvt_color", "code": "BGR2GRAY"}
    cause = localize.diagnose_pair("01_cvt_color", ref, got, 0.0, bgr, step, "NCHW", None)
    assert cause == "cvt_color: conversion differs (training BGR2GRAY, deployed matches RGB2GRAY)"


# -- the model hypothesis: another model file only when the evidence shows another model ---------------------


def _ev(**kw: object) -> localize.ModelEvidence:
    base: dict = dict(runtime="cpp", model_file="m.onnx", sha256="same", on_record="pass",
                      same_input="logits: max |d| 0.8", same_input_items=32, precision="int8",
                      int8_flavour="ort_cpu")  # fmt: skip
    base.update(kw)
    return localize.ModelEvidence(**base)


@pytest.mark.parametrize(
    ("kw", "step", "says"),
    [
        ({}, "runtime.kernels", "same model file and same input: the runtime computes differently"),
        ({"on_record": "fail"}, "runtime.kernels", "does not reproduce the record either"),
        ({"sha256": "different", "on_record": "fail"}, "model", localize.DIFFERENT_MODEL),
        ({"sha256": "different", "on_record": "skip"}, "model", localize.DIFFERENT_MODEL),
        ({"sha256": "unknown", "on_record": "fail"}, "model", localize.DIFFERENT_MODEL),
        ({"sha256": "different", "on_record": "fail", "same_input": None}, "model", localize.DIFFERENT_MODEL),
        ({"sha256": "different"}, "runtime.kernels", "a model file that computes the recorded outputs"),
        ({"sha256": "unknown", "on_record": "skip"}, "model", "another model file or a runtime"),
        ({"runtime": "torch"}, "model", "the PyTorch reference model"),
        ({"precision": "fp32", "int8_flavour": None}, "runtime.kernels", "fp32 kernels differ"),
        ({"backend": "trt"}, "runtime.kernels", "TensorRT's kernels"),
    ],
)
def test_model_hypothesis(kw: dict, step: str, says: str) -> None:
    mc = localize.diagnose_model(_ev(**kw))
    assert mc is not None and mc.step == step and says in mc.cause, mc
    if step == "runtime.kernels":
        assert "different model file" not in mc.cause and "record the reference on the target" in mc.fix


def test_no_model_diagnosis_when_outputs_agree_on_identical_input() -> None:
    assert localize.diagnose_model(_ev(same_input=None)) is None
    assert localize.diagnose_model(_ev(same_input=None, on_record="fail")) is None  # same file: warn only


def test_the_record_says_where_it_was_computed(tiny_bundle_session) -> None:  # type: ignore[no-untyped-def]
    import platform

    from edgekit.parity.reference import load_reference

    rec = load_reference(tiny_bundle_session).recorded_on
    assert rec.startswith(f"{platform.machine()} (") and "onnxruntime " in rec
