"""The runtime installs and exports a CMake package: an outside project finds it with
find_package(edgekit_runtime), links edgekit::runtime, and runs from the install prefix."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from edgekit import runtime_cpp

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "cpp_runtime" / "build"


def _run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, check=False)


def test_install_and_find_package(tiny_bundle: Path, tmp_path: Path) -> None:
    if not (BUILD / "CMakeCache.txt").is_file() or not runtime_cpp.is_built():
        pytest.skip("the C++ runtime is not built: run tools/setup.sh")
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    prefix = tmp_path / "prefix"
    r = _run("cmake", "--install", BUILD, "--prefix", prefix)
    assert r.returncode == 0, r.stderr
    assert (prefix / "lib" / "cmake" / "edgekit_runtime" / "edgekit_runtimeConfig.cmake").is_file()
    ort = prefix / "lib" / "libonnxruntime.so.1"
    assert ort.is_file() and not ort.is_symlink()
    # The installed edgekit-infer runs from the prefix (ORT: recorded path, else <prefix>/lib).
    r = _run(
        prefix / "bin" / "edgekit-infer",
        "--bundle",
        tiny_bundle,
        "--input",
        tiny_bundle / "golden" / "000.png",
        "--json",
    )
    assert r.returncode == 0, r.stderr

    build = tmp_path / "consumer-build"
    r = _run(
        "cmake",
        "-S",
        REPO / "cpp_runtime" / "examples" / "consumer",
        "-B",
        build,
        f"-DCMAKE_PREFIX_PATH={prefix}",
        "-DCMAKE_BUILD_TYPE=Release",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run("cmake", "--build", build, "-j2")
    assert r.returncode == 0, r.stdout + r.stderr
    # Not installed: it finds ORT through the path recorded when the runtime was built.
    r = _run(build / "classify", tiny_bundle, tiny_bundle / "golden" / "000.png")
    assert r.returncode == 0, r.stderr
    want = runtime_cpp.run_infer(tiny_bundle, tiny_bundle / "golden" / "000.png")[0]["top_k"][0]
    idx, label, score = r.stdout.split()
    assert int(idx) == want["index"] and label == want["label"] and abs(float(score) - want["score"]) < 1e-5
