"""Parity fails closed (issue 13, item 1): a runtime that never ran, a comparison over zero items, a skipped
comparison or a report without evidence is never "in sync". Each test breaks one check's subject and expects
a failure: the verdict "not verified" (exit 3), "NOT in sync" (exit 1) or an error (exit 2) — never exit 0.

Verdicts (edgekit/parity/report.py): 0 in sync (every golden item ran and every comparison passed), 1 NOT in
sync (something measured a difference), 3 not verified (nothing measured a difference, but something was not
compared: a runtime failure on any item counts), 2 error (unusable input)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgekit.errors import BundleError
from edgekit.parity import compare, run_parity
from edgekit.parity.reference import RECORD, REF_DIR, load_reference
from edgekit.parity.report import ParityReport
from edgekit.parity.static_checks import manifest_vs_record
from edgekit.parity.tolerances import output_tolerance
from edgekit.postprocess import TopK
from tests.parity.conftest import CPP_BINARY, rehash

needs_cpp = [
    pytest.mark.cpp,
    pytest.mark.skipif(CPP_BINARY is None, reason="edgekit-infer is not built (cpp_runtime/build)"),
]


def _not_verified(r: ParityReport) -> None:
    assert not r.in_sync and r.exit_code == 3 and r.verdict == "not verified", r.summary()
    assert r.summary().startswith("not verified: ") and r.unverified


def _script(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text("#!/bin/sh\n" + body)
    p.chmod(0o755)
    return p


# -- the runtime under test did not run ------------------------------------------------------------------


def test_cli_binary_false_is_not_verified(tiny_bundle_session: Path, tmp_path: Path) -> None:
    """The issue's report: `edgekit parity BUNDLE --binary /bin/false` printed "in sync" and exited 0."""
    out = tmp_path / "r.json"
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", COLUMNS="200")
    p = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "parity", str(tiny_bundle_session), "--binary", "/bin/false",
         "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert p.returncode == 3, p.stdout + p.stderr
    last = p.stdout.strip().splitlines()[-1]
    assert last.startswith("not verified: cpp failed on 16/16 golden items") and "exit 1" in last
    rep = json.loads(out.read_text())
    assert rep["verdict"] == "not verified" and rep["in_sync"] is False and rep["verified_items"] == 0
    assert rep["coverage"] == {"items": 16, "ran": 0, "stages": 0, "outputs": 0, "postprocess": 0}


def test_binary_exit_0_without_output_is_not_verified(tiny_bundle_session: Path, tmp_path: Path) -> None:
    r = run_parity(tiny_bundle_session, runtime="cpp", binary=_script(tmp_path, "silent", "exit 0\n"))
    _not_verified(r)
    assert "wrote no output tensors" in r.summary()


def test_binary_printing_results_but_no_tensors_is_not_verified(
    tiny_bundle_session: Path, tmp_path: Path
) -> None:
    """Plausible JSON lines, exit 0, but no stage dumps and no output tensors: nothing can be compared."""
    line = '{"input": "%s", "model": "student_fp32", "top_k": [{"index": 7, "label": "7", "score": 0.9}]}'
    body = f"""if [ -d "$4" ]; then for f in "$4"/*.png; do printf '{line}\\n' "$f"; done
else printf '{line}\\n' "$4"; fi
exit 0
"""
    r = run_parity(tiny_bundle_session, runtime="cpp", binary=_script(tmp_path, "liar", body))
    _not_verified(r)
    assert r.coverage.ran == 0 and r.coverage.outputs == 0


@pytest.mark.parametrize("runtime", ["cpp"])
@pytest.mark.cpp
@pytest.mark.skipif(CPP_BINARY is None, reason="edgekit-infer is not built (cpp_runtime/build)")
def test_runtime_without_onnxruntime_is_not_verified(
    tiny_bundle_session: Path, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    monkeypatch.setenv("EDGEKIT_ORT_LIB", "/nonexistent/libonnxruntime.so.1")
    r = run_parity(tiny_bundle_session, runtime=runtime)
    _not_verified(r)
    assert "cannot load the ONNX Runtime library" in r.summary()


@pytest.mark.parametrize("runtime", [pytest.param("cpp", marks=needs_cpp)])
def test_partial_runtime_failure_is_not_verified(
    tiny_bundle_session: Path, tmp_path: Path, runtime: str
) -> None:
    """The runtime works on 15 of 16 golden items and fails on one: that item was not compared, so the
    verdict is not "in sync" even though every compared item agrees."""
    body = f"""if [ -d "$4" ]; then echo "error: folder runs refused" >&2; exit 2; fi
case "$4" in *003.png) echo "error: simulated crash on 003" >&2; exit 2;; esac
exec {CPP_BINARY} "$@"
"""
    r = run_parity(tiny_bundle_session, runtime=runtime, binary=_script(tmp_path, "flaky", body))
    _not_verified(r)
    assert r.coverage.ran == 15 and r.coverage.outputs == 15
    assert "failed on 1/16 golden items" in r.summary() and "simulated crash on 003" in r.summary()
    assert all(o.status == "pass" for o in r.outputs)  # what was compared agrees: still not verified


# -- the training record is broken or compares nothing ---------------------------------------------------


def _edit_record(root: Path, edit) -> None:  # type: ignore[no-untyped-def]
    p = root / RECORD
    raw = json.loads(p.read_text())
    edit(raw)
    p.write_text(json.dumps(raw))
    rehash(root)


def test_reference_with_zero_items_is_an_error(tiny_bundle_copy: Path) -> None:
    _edit_record(tiny_bundle_copy, lambda raw: raw.update(items=[]))
    with pytest.raises(BundleError, match="zero golden items"):
        run_parity(tiny_bundle_copy, runtime="ort")


def test_golden_set_with_zero_items_fails(tiny_bundle_copy: Path) -> None:
    from tests.parity.conftest import edit_manifest

    edit_manifest(tiny_bundle_copy, lambda raw: raw.update(golden=[]))
    r = run_parity(tiny_bundle_copy, runtime="ort")
    assert not r.in_sync and r.exit_code == 1, r.summary()
    assert r.coverage.ran == 0 and any(c.name == "golden list vs training record" and c.status == "fail"
                                       for c in r.checks)  # fmt: skip


def test_changed_golden_image_fails(tiny_bundle_copy: Path) -> None:
    """The golden image itself replaced (another digit): the inputs check fails and decode is named."""
    import cv2

    a, b = tiny_bundle_copy / "golden" / "000.png", tiny_bundle_copy / "golden" / "001.png"
    cv2.imwrite(str(a), cv2.imread(str(b), cv2.IMREAD_UNCHANGED))
    rehash(tiny_bundle_copy)
    r = run_parity(tiny_bundle_copy, runtime="ort")
    assert not r.in_sync and r.exit_code == 1, r.summary()
    chk = next(c for c in r.checks if c.name == "golden inputs vs training record")
    assert chk.status == "fail" and "000" in chk.detail
    assert r.first_divergence == "00_decode"


def test_missing_reference_outputs_is_not_verified(tiny_bundle_copy: Path) -> None:
    """Without recorded outputs the outputs cannot be compared: a skipped comparison is not a pass."""
    for f in (tiny_bundle_copy / REF_DIR / "outputs").glob("student_fp32.*"):
        f.unlink()
    rehash(tiny_bundle_copy)
    r = run_parity(tiny_bundle_copy, runtime="ort")
    _not_verified(r)
    assert any(c.name == "outputs" and c.status == "skip" for c in r.checks)


def test_missing_reference_stage_file_is_an_error(tiny_bundle_copy: Path) -> None:
    (tiny_bundle_copy / REF_DIR / "stages" / "003.npz").unlink()
    rehash(tiny_bundle_copy)
    with pytest.raises(BundleError, match="stage file"):
        run_parity(tiny_bundle_copy, runtime="ort")


def test_truncated_reference_outputs_are_an_error(tiny_bundle_copy: Path) -> None:
    p = tiny_bundle_copy / REF_DIR / "outputs" / "student_fp32.ort.npz"
    with np.load(p) as z:
        short = {k: z[k][:3] for k in z.files}
    np.savez(p, **short)  # type: ignore[arg-type]
    rehash(tiny_bundle_copy)
    with pytest.raises(BundleError, match="one row per golden item"):
        run_parity(tiny_bundle_copy, runtime="ort")


def test_no_labels_anywhere_is_not_a_passing_label_check(tiny_bundle_copy: Path) -> None:
    (tiny_bundle_copy / "labels.txt").write_text("")
    _edit_record(tiny_bundle_copy, lambda raw: raw.update(labels=[]))
    from edgekit import bundle as B

    checks = manifest_vs_record(B.load(tiny_bundle_copy), load_reference(tiny_bundle_copy), "student_fp32")
    lab = next(c for c in checks if c.name == "labels vs training record")
    assert lab.status == "skip"  # zero labels compared: shown as skipped, never as "pass"


# -- the comparison core never passes over nothing -------------------------------------------------------


def test_comparisons_over_zero_items_fail() -> None:
    tol = output_tolerance("fp32")
    assert not compare.diff(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), 0.0).ok
    assert not compare.close(np.zeros(0), np.zeros(0), 1.0)
    assert not compare.output_metrics(np.zeros((0, 10)), np.zeros((0, 10)), 5, tol).ok
    assert not compare.reported([], [], 1.0).ok


def test_comparisons_with_nan_fail() -> None:
    tol = output_tolerance("fp32")
    a = np.ones((2, 3), np.float32)
    nan = a.copy()
    nan[0, 0] = np.nan
    assert not compare.diff(nan, a, 0.0).ok and not compare.diff(a, nan, 0.0).ok
    assert not compare.output_metrics(nan, a, 1, tol).ok and not compare.output_metrics(a, nan, 1, tol).ok
    t = [TopK(0, "a", 0.5)]
    assert not compare.reported(t, [TopK(0, "a", float("nan"))], 1.0).ok


def test_a_report_without_evidence_is_never_in_sync() -> None:
    r = ParityReport(bundle="b", runtime="cpp", where="local", model="m", precision="fp32")
    assert not r.in_sync and r.exit_code != 0 and r.verdict != "in sync"
    r.decide()
    _not_verified(r)


# -- the build's parity gate and the report ---------------------------------------------------------------


@pytest.mark.cpp
@pytest.mark.skipif(CPP_BINARY is None, reason="edgekit-infer is not built (cpp_runtime/build)")
def test_build_gate_and_report_without_onnxruntime(
    tiny_bundle_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build's end-of-build parity and report.md, when the C++ runtime cannot load ONNX Runtime: they
    said "in sync" / "verified here"; they must say "not verified" and the gate must exit non-zero."""
    from edgekit import runtime_cpp
    from edgekit.build import local_parity
    from edgekit.report import write_report
    from edgekit.stages.progress import Reporter

    monkeypatch.setenv("EDGEKIT_CPP_BIN_DIR", str(Path(str(CPP_BINARY)).parent))
    assert runtime_cpp.is_built()
    monkeypatch.setenv("EDGEKIT_ORT_LIB", "/nonexistent/libonnxruntime.so.1")
    res = local_parity(tiny_bundle_copy, Reporter())
    assert res["exit_code"] == 3 and res["verdict"] == "not verified" and res["in_sync"] is False
    assert json.loads((tiny_bundle_copy / "parity.json").read_text())["verdict"] == "not verified"
    write_report(tiny_bundle_copy, None, None, res)
    md = (tiny_bundle_copy / "report.md").read_text()
    row = next(ln for ln in md.splitlines() if ln.startswith("| parity: cpp"))
    assert "verified here" not in row and "not verified" in row
    assert "**not verified**" in md and "**in sync**" not in md


@pytest.mark.parametrize(
    "claim",
    [
        {"in_sync": True, "verdict": "in sync", "exit_code": 0, "stages": [], "outputs": []},
        {"in_sync": True, "verdict": "in sync", "exit_code": 0,
         "coverage": {"items": 0, "ran": 0, "stages": 0, "outputs": 0, "postprocess": 0}},
        {"in_sync": True, "verdict": "in sync", "exit_code": 0,
         "coverage": {"items": 16, "ran": 0, "stages": 16, "outputs": 0, "postprocess": 0}},
        {"in_sync": True, "error": None},
    ],
    ids=["no-rows", "zero-items", "runtime-never-ran", "bare-flag"],
)  # fmt: skip
def test_report_never_calls_a_claim_without_evidence_verified(tiny_bundle_copy: Path, claim: dict) -> None:
    from edgekit.report import write_report

    p = dict(claim, runtime="cpp", where="local", model="student_fp32")
    write_report(tiny_bundle_copy, None, None, p)
    md = (tiny_bundle_copy / "report.md").read_text()
    row = next(ln for ln in md.splitlines() if ln.startswith("| parity: cpp"))
    assert "verified here" not in row, row
    assert "**in sync**" not in md
    html = (tiny_bundle_copy / "report.html").read_text()
    assert 'class="badge ok">in sync' not in html
