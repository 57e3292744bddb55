"""`edgekit check` end to end (a real subprocess): exit 0 clean, 1 on errors, 2 on bad input; --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def edgekit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "edgekit.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )


def test_exit_codes_and_json(tiny_bundle_session: Path, tmp_path: Path) -> None:
    fp32 = tiny_bundle_session / "models" / "student_fp32.onnx"
    ok = edgekit("check", str(fp32), "--device", "jetson-xavier", "--json")
    assert ok.returncode == 0, ok.stderr
    rep = json.loads(ok.stdout)
    assert rep["use_dla"] and rep["precision"] == "fp16" and rep["errors"] == 0
    assert rep["layer_counts"]["dla"] == len(rep["layers"]) and rep["transitions"] == 0
    assert {"node", "op", "where", "rule", "reason"} <= set(rep["layers"][0])

    too_new = edgekit("check", str(fp32), "--device", "jetson-nano")  # opset 17 > TensorRT 8.2's 13
    assert too_new.returncode == 1
    assert "trt.opset" in too_new.stdout and "opset_version=13" in too_new.stdout

    cpu_int8 = edgekit(
        "check",
        str(tiny_bundle_session / "models" / "student_int8_cpu.onnx"),
        "--device",
        "jetson-orin",
        "--json",
    )
    assert cpu_int8.returncode == 1
    rules = {f["rule"] for f in json.loads(cpu_int8.stdout)["findings"]}
    assert {"trt.unsupported_op", "qdq.zero_point", "qdq.type"} <= rules

    missing = edgekit("check", str(tmp_path / "none.onnx"), "--device", "jetson-xavier")
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "fix:" in missing.stderr
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage" * 10)
    bad = edgekit("check", str(corrupt), "--device", "jetson-xavier")
    assert bad.returncode == 2 and "corrupt.onnx" in bad.stderr
    unknown = edgekit("check", str(fp32), "--device", "jetson-xavr")
    assert unknown.returncode == 2 and "did you mean 'jetson-xavier'" in unknown.stderr
    no_dla = edgekit("check", str(fp32), "--device", "jetson-nano", "--dla")
    assert no_dla.returncode == 2 and "has no DLA" in no_dla.stderr
