"""The INT8 check: fake-quant PyTorch vs ONNX Runtime on the Q/DQ model, top-1 agreement >= 99 % on the golden
set. It passes on the clean color bundle (test_drift) and must fail when the two disagree."""

from __future__ import annotations

from pathlib import Path

from edgekit import bundle as B
from edgekit.parity import run_parity, write_reference
from tests.parity.conftest import rehash


def test_int8_check_fails_when_fake_quant_and_qdq_disagree(color_bundle_copy: Path) -> None:
    import torch

    from tests.parity.color_bundle import _net

    torch.manual_seed(123)
    wrong = _net().eval()  # a different network recorded as the fake-quant reference of the Q/DQ model
    with torch.no_grad():
        wrong[-1].weight.mul_(8.0)
    m = B.load(color_bundle_copy).manifest
    write_reference(color_bundle_copy, m, {"student_int8_qdq": wrong})
    rehash(color_bundle_copy)
    r = run_parity(color_bundle_copy, runtime="ort", model="student_int8_qdq")
    chk = next(c for c in r.checks if c.name.startswith("reference torch vs ORT (student_int8_qdq"))
    assert chk.status == "fail" and "(≥99%)" in chk.detail
    assert not r.in_sync and r.diagnoses[0].step == "int8"
    # the same defect is only a warning when another model is under test
    r2 = run_parity(color_bundle_copy, runtime="ort", model="student_fp32")
    assert r2.in_sync and any(c.status == "warn" for c in r2.checks)
