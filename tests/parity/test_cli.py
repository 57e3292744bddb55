"""``edgekit parity`` as a user and CI run it: exit codes 0/1/2, the JSON report, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.parity.conftest import edit_manifest, step


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", COLUMNS="120")
    return subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "parity", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_cli_in_sync_exit_0_and_json(tiny_bundle_session: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    p = _cli(str(tiny_bundle_session), "--runtime", "ort", "--json", str(out))
    assert p.returncode == 0, p.stderr
    assert "in sync" in p.stdout and "00_decode" in p.stdout
    rep = json.loads(out.read_text())
    assert rep["verdict"] == "in sync" and rep["exit_code"] == 0 and rep["outputs"][0]["status"] == "pass"


def test_cli_drift_exit_1_names_the_step(tiny_bundle_copy: Path) -> None:
    edit_manifest(tiny_bundle_copy, lambda raw: step(raw, "to_float").update(scale=1.0))
    p = _cli(str(tiny_bundle_copy), "--runtime", "ort", "--json", "-")
    assert p.returncode == 1, p.stderr
    rep = json.loads(p.stdout.strip().splitlines()[-1])
    assert rep["verdict"] == "NOT in sync" and rep["first_divergence"] == "02_to_float"
    assert rep["diagnoses"][0]["cause"] == "to_float: values ×255 — missing 1/255 scale"


def test_cli_errors_exit_2_with_one_line(tmp_path: Path, tiny_bundle_session: Path) -> None:
    p = _cli(str(tmp_path / "nope"), "--runtime", "ort")
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "manifest.json is missing" in lines[0] and "fix:" in lines[0]
    p = _cli(str(tiny_bundle_session), "--runtime", "tflite")
    assert p.returncode == 2 and "unknown runtime 'tflite'" in p.stderr
    p = _cli(str(tiny_bundle_session), "--runtime", "ort", "--precision", "fp64")
    assert p.returncode == 2 and "unknown precision 'fp64'" in p.stderr
    p = _cli(str(tiny_bundle_session), "--runtime", "cpp", "--binary", str(tmp_path / "edgekit-infer"))
    assert p.returncode == 2 and "edgekit-infer binary" in p.stderr and "fix:" in p.stderr


def test_cli_bundle_without_reference_is_an_error(tiny_bundle_copy: Path) -> None:
    import shutil

    from tests.parity.conftest import rehash

    shutil.rmtree(tiny_bundle_copy / "golden" / "reference")
    rehash(tiny_bundle_copy)
    p = _cli(str(tiny_bundle_copy), "--runtime", "ort")
    assert p.returncode == 2 and "has no parity reference" in p.stderr


def test_torch_runtime_without_torch_model_is_an_error(tiny_bundle_session: Path) -> None:
    p = _cli(str(tiny_bundle_session), "--runtime", "torch", "--model", "student_int8_cpu")
    assert p.returncode == 2 and "no PyTorch reference model for 'student_int8_cpu'" in p.stderr
