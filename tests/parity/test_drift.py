"""Drift injection: each edit a user could make to a copy of a clean bundle must be caught (verdict NOT in
sync, exit code 1) AND attributed to the right step and cause. Runs against ort and torch always, and
against the C++ runtime when it is built."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.parity import run_parity
from edgekit.parity.report import ParityReport
from tests.parity.conftest import RUNTIMES, edit_manifest, rehash, step


def _headline(r: ParityReport) -> tuple[str, str]:
    assert r.diagnoses, r.to_dict()
    return r.diagnoses[0].step, r.diagnoses[0].cause


def _out_of_sync(r: ParityReport) -> None:
    assert not r.in_sync and r.exit_code == 1, r.summary()


# -- clean bundles pass ------------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_clean_tiny_bundle_in_sync(tiny_bundle_session: Path, runtime: str) -> None:
    r = run_parity(tiny_bundle_session, runtime=runtime)
    assert r.in_sync and r.exit_code == 0, r.to_dict()
    assert [s.status for s in r.stages] == ["pass"] * 5
    assert r.outputs and r.outputs[0].max_abs <= r.outputs[0].max_abs_limit
    assert r.outputs[0].top1 == 1.0


@pytest.mark.parametrize("runtime", ["ort", RUNTIMES[2]])
def test_clean_int8_cpu_model_in_sync(tiny_bundle_session: Path, runtime: str) -> None:
    r = run_parity(tiny_bundle_session, runtime=runtime, model="student_int8_cpu")
    assert r.in_sync, r.to_dict()
    assert r.precision == "int8" and r.outputs[0].max_abs_limit > 1e-2  # int8 tolerances, not fp32's


@pytest.mark.parametrize("model", ["student_fp32", "student_int8_qdq"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_clean_color_bundle_in_sync(color_bundle_session: Path, runtime: str, model: str) -> None:
    r = run_parity(color_bundle_session, runtime=runtime, model=model)
    assert r.in_sync, r.to_dict()
    assert len(r.stages) == 7 and all(s.status == "pass" for s in r.stages)


def test_int8_fake_quant_torch_agrees_with_ort_qdq(color_bundle_session: Path) -> None:
    r = run_parity(color_bundle_session, runtime="ort", model="student_int8_qdq")
    chk = next(c for c in r.checks if c.name.startswith("reference torch vs ORT (student_int8_qdq"))
    assert chk.status == "pass" and "top-1 agreement 100.0%" in chk.detail


# -- preprocessing drift -----------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_mean_changed(tiny_bundle_copy: Path, runtime: str) -> None:
    edit_manifest(tiny_bundle_copy, lambda raw: step(raw, "normalize").update(mean=[0.5]))
    r = run_parity(tiny_bundle_copy, runtime=runtime)
    _out_of_sync(r)
    where, cause = _headline(r)
    assert where == "03_normalize" and r.first_divergence == "03_normalize"
    assert "mean mismatch" in cause and "0.5" in cause and "std mismatch" not in cause


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_std_changed_color(color_bundle_copy: Path, runtime: str) -> None:
    edit_manifest(color_bundle_copy, lambda raw: step(raw, "normalize").update(std=[0.5, 0.5, 0.5]))
    r = run_parity(color_bundle_copy, runtime=runtime)
    _out_of_sync(r)
    where, cause = _headline(r)
    assert where == "05_normalize" and "std mismatch" in cause and "[0.5, 0.5, 0.5]" in cause


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_rgb_bgr_swapped(color_bundle_copy: Path, runtime: str) -> None:
    def drop_cvt(raw: dict) -> None:
        raw["preprocess"]["steps"] = [s for s in raw["preprocess"]["steps"] if s["op"] != "cvt_color"]

    edit_manifest(color_bundle_copy, drop_cvt)
    r = run_parity(color_bundle_copy, runtime=runtime)
    _out_of_sync(r)
    where, cause = _headline(r)
    assert where == "01_cvt_color" and "channels appear swapped" in cause
    assert next(s for s in r.stages if s.ref_stage == "01_cvt_color").status == "missing"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_resize_interpolation_changed(color_bundle_copy: Path, runtime: str) -> None:
    edit_manifest(color_bundle_copy, lambda raw: step(raw, "resize").update(interpolation="area"))
    r = run_parity(color_bundle_copy, runtime=runtime)
    _out_of_sync(r)
    where, cause = _headline(r)
    assert where == "02_resize" and "interpolation" in cause and "matches area" in cause


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_input_size_changed(tiny_bundle_copy: Path, runtime: str) -> None:
    def grow(raw: dict) -> None:
        step(raw, "resize").update(size=[32, 32])
        raw["input"]["shape"] = [-1, 1, 32, 32]

    edit_manifest(tiny_bundle_copy, grow)
    r = run_parity(tiny_bundle_copy, runtime=runtime)
    _out_of_sync(r)
    where, cause = _headline(r)
    assert where == "01_resize" and "input size changed 28x28 → 32x32" in cause
    assert any(c.name == "manifest vs model" and c.status == "fail" for c in r.checks)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_crop_size_changed_color(color_bundle_copy: Path, runtime: str) -> None:
    def grow(raw: dict) -> None:
        step(raw, "center_crop").update(size=[36, 36])
        raw["input"]["shape"] = [-1, 3, 36, 36]

    edit_manifest(color_bundle_copy, grow)
    r = run_parity(color_bundle_copy, runtime=runtime)  # global pooling: the model still runs
    _out_of_sync(r)
    where, cause = _headline(r)
    assert where == "03_center_crop" and "input size changed 32x32 → 36x36" in cause


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_nhwc_instead_of_nchw(tiny_bundle_copy: Path, runtime: str) -> None:
    def nhwc(raw: dict) -> None:
        step(raw, "layout").update(to="NHWC")
        raw["input"].update(layout="NHWC", shape=[-1, 28, 28, 1])

    edit_manifest(tiny_bundle_copy, nhwc)
    r = run_parity(tiny_bundle_copy, runtime=runtime)
    _out_of_sync(r)
    where, cause = _headline(r)
    assert where == "04_layout" and "NHWC vs NCHW" in cause


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_missing_1_over_255_scale(tiny_bundle_copy: Path, runtime: str) -> None:
    edit_manifest(tiny_bundle_copy, lambda raw: step(raw, "to_float").update(scale=1.0))
    r = run_parity(tiny_bundle_copy, runtime=runtime)
    _out_of_sync(r)
    where, cause = _headline(r)
    assert where == "02_to_float" and "values ×255 — missing 1/255 scale" in cause


# -- labels and model ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_label_order_shuffled(tiny_bundle_copy: Path, runtime: str) -> None:
    p = tiny_bundle_copy / "labels.txt"
    p.write_text("\n".join(reversed(p.read_text().splitlines())) + "\n")
    rehash(tiny_bundle_copy)
    r = run_parity(tiny_bundle_copy, runtime=runtime)
    _out_of_sync(r)
    assert all(s.status == "pass" for s in r.stages)
    lab = [d for d in r.diagnoses if d.step == "labels"]
    assert lab and lab[0].cause == "labels: order differs from training"


@pytest.mark.parametrize("runtime", ["ort", RUNTIMES[2]])
def test_different_model_file(tiny_bundle_copy: Path, runtime: str) -> None:
    import onnx
    from onnx import numpy_helper

    path = tiny_bundle_copy / "models" / "student_fp32.onnx"
    m = onnx.load(str(path))
    rng = np.random.default_rng(1)
    for init in m.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype == np.float32 and a.ndim >= 2:  # conv/linear weights: another training run, same graph
            init.CopyFrom(numpy_helper.from_array(rng.permutation(a.reshape(-1)).reshape(a.shape), init.name))
    onnx.save(m, str(path))
    rehash(tiny_bundle_copy)
    r = run_parity(tiny_bundle_copy, runtime=runtime)
    _out_of_sync(r)
    assert all(s.status == "pass" for s in r.stages)  # identical input ...
    where, cause = _headline(r)
    assert where == "model" and cause == "outputs differ with identical input → different model file"


def test_different_torch_model(tiny_bundle_copy: Path) -> None:
    import torch

    from tests.fixtures.tiny_bundle import _net

    torch.manual_seed(7)
    other = _net().eval()
    torch.export.save(
        torch.export.export(other, (torch.zeros(1, 1, 28, 28),)),
        str(tiny_bundle_copy / "reference" / "student_fp32.pt2"),
    )
    rehash(tiny_bundle_copy)
    r = run_parity(tiny_bundle_copy, runtime="torch")
    _out_of_sync(r)
    where, cause = _headline(r)
    assert where == "model" and "different model file" in cause


@pytest.mark.parametrize("runtime", ["ort", RUNTIMES[2]])
def test_equivalent_declaration_is_not_drift(color_bundle_copy: Path, runtime: str) -> None:
    """RGB2BGR and BGR2RGB are the same channel swap: the manifest differs, the computation does not.
    The verdict follows the numbers; the declaration difference is shown as a warning."""
    edit_manifest(color_bundle_copy, lambda raw: step(raw, "cvt_color").update(code="RGB2BGR"))
    r = run_parity(color_bundle_copy, runtime=runtime)
    assert r.in_sync, r.to_dict()
    chk = next(c for c in r.checks if c.name == "preprocessing vs training record")
    assert chk.status == "warn" and "BGR2RGB → RGB2BGR" in chk.detail
