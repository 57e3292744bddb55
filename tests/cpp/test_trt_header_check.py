"""tools/check_trt_headers.sh fails when it cannot check: a missing header set, or no headers at all.
(The check's own control — a misspelt copy of trt_backend.cpp that must not compile — runs inside the
script in tools/test.sh against all five header sets.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "check_trt_headers.sh"


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )


def test_missing_header_set_fails(tmp_path: Path) -> None:
    (tmp_path / "8.2" / "include").mkdir(parents=True)  # the folder is there, NvInfer.h is not
    p = _run({"EDGEKIT_TRT_HEADERS": str(tmp_path), "EDGEKIT_TRT_VERSIONS": "8.2"})
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"FAIL: {tmp_path}/8.2/include/NvInfer.h is missing" in p.stdout and "FAILED" in p.stdout


def test_no_headers_at_all_is_one_line(tmp_path: Path) -> None:
    p = _run({"EDGEKIT_TRT_HEADERS": str(tmp_path / "none")})
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "TensorRT headers not found" in p.stderr


def test_missing_cuda_headers_is_one_line(tmp_path: Path) -> None:
    p = _run({"EDGEKIT_CUDA_INCLUDE": str(tmp_path)})
    assert (
        p.returncode == 2
        and "cuda_runtime_api.h not found" in p.stderr
        and "nvidia-cuda-runtime-cu12" in p.stderr
    )
