"""Provenance and `edgekit --version` (item 10); the runtime binaries' search order and the bad inputs of
`edgekit runtime build` (item 7): fast checks with fake programs, no compiling."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from edgekit import provenance, resources, runtime_build, runtime_cpp


def _exe(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_version_prints_every_component() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    got = dict(line.split(None, 1) for line in r.stdout.splitlines())
    assert got["torch"] == metadata.version("torch") and got["onnx"] == metadata.version("onnx")
    assert got["onnxruntime"] == metadata.version("onnxruntime")
    assert got["opencv"] == metadata.version("opencv-python-headless") and got["edgekit"] == "0.1.0"


def test_config_hash_is_canonical_and_sensitive() -> None:
    a = provenance.config_sha256({"example": "digits", "recipe": {"epochs": 2, "lr": 0.1}, "seed": 0})
    b = provenance.config_sha256({"seed": 0, "recipe": {"lr": 0.1, "epochs": 2}, "example": "digits"})
    c = provenance.config_sha256({"example": "digits", "recipe": {"epochs": 3, "lr": 0.1}, "seed": 0})
    assert a == b != c and len(a) == 64


def test_manifest_carries_provenance_and_old_ones_still_load(tiny_bundle_session: Path) -> None:
    import json

    from edgekit import bundle as B

    m = B.load(tiny_bundle_session).manifest
    raw = m.model_dump(mode="json")
    raw.pop("provenance", None)
    assert B.Manifest.model_validate(raw).provenance is None  # bundles written before the field
    raw["provenance"] = {**provenance.versions(), "config_sha256": "0" * 64}
    m2 = B.Manifest.model_validate(json.loads(json.dumps(raw)))
    assert m2.provenance is not None and m2.provenance.onnxruntime == metadata.version("onnxruntime")
    raw["provenance"]["bogus"] = 1
    with pytest.raises(ValueError):
        B.Manifest.model_validate(raw)


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("EDGEKIT_CPP_BIN_DIR", "EDGEKIT_RUNTIME_PREFIX"):
        monkeypatch.delenv(k, raising=False)
    prefix = tmp_path / "prefix"
    monkeypatch.setenv("EDGEKIT_RUNTIME_PREFIX", str(prefix))
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    monkeypatch.setattr(resources, "in_checkout", lambda: False)  # as installed from a wheel
    assert runtime_cpp.search_dirs()[:2] == [prefix / "bin", tmp_path / "path"]
    with pytest.raises(runtime_cpp.CppRuntimeError) as ei:
        runtime_cpp.find_binary("edgekit-infer")
    assert ei.value.fix == "run `edgekit runtime build`"  # the wheel install with no runtime built
    onpath = _exe(tmp_path / "path" / "edgekit-infer", "exit 0")
    assert runtime_cpp.find_binary("edgekit-infer") == onpath
    inprefix = _exe(prefix / "bin" / "edgekit-infer", "exit 0")
    assert runtime_cpp.find_binary("edgekit-infer") == inprefix  # the prefix before PATH
    monkeypatch.setattr(resources, "in_checkout", lambda: True)
    assert runtime_cpp.search_dirs()[0] == runtime_cpp.DEFAULT_BIN_DIR  # the checkout's build first
    monkeypatch.setenv("EDGEKIT_CPP_BIN_DIR", str(tmp_path / "only"))
    assert runtime_cpp.search_dirs() == [tmp_path / "only"]  # explicit: nothing else is looked at
    with pytest.raises(runtime_cpp.CppRuntimeError):
        runtime_cpp.find_binary("edgekit-infer")


def test_default_prefix_is_the_venv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGEKIT_RUNTIME_PREFIX", raising=False)
    if sys.prefix == sys.base_prefix:
        assert runtime_cpp.default_prefix() == Path.home() / ".local" / "share" / "edgekit" / "runtime"
    else:
        assert runtime_cpp.default_prefix() == Path(sys.prefix)


def test_missing_cmake(tmp_path: Path) -> None:
    with pytest.raises(runtime_build.RuntimeBuildError) as ei:
        runtime_build.find_tools({"PATH": str(tmp_path)})
    assert "CMake is not installed" in ei.value.message and "apt-get install cmake" in (ei.value.fix or "")


def test_old_cmake(tmp_path: Path) -> None:
    _exe(tmp_path / "cmake", 'echo "cmake version 3.10.2"')  # Ubuntu 18.04 / JetPack 4.6
    with pytest.raises(runtime_build.RuntimeBuildError) as ei:
        runtime_build.find_tools({"PATH": str(tmp_path)})
    assert "3.10.2 is older than 3.16" in ei.value.message and "pip install cmake" in (ei.value.fix or "")


def test_missing_compiler(tmp_path: Path) -> None:
    _exe(tmp_path / "cmake", 'echo "cmake version 3.25.1"')
    with pytest.raises(runtime_build.RuntimeBuildError) as ei:
        runtime_build.find_tools({"PATH": str(tmp_path)})
    assert "no C++ compiler" in ei.value.message and "build-essential" in (ei.value.fix or "")
    _exe(tmp_path / "g++", "exit 0")
    assert runtime_build.find_tools({"PATH": str(tmp_path)}).cxx == str(tmp_path / "g++")


def test_cli_runtime_build_without_cmake_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    r = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "runtime", "build", "--prefix", str(tmp_path / "p")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert (
        r.returncode == 2 and len(lines) == 1 and "CMake is not installed" in lines[0] and "fix:" in lines[0]
    )
    assert not (tmp_path / "p").exists()  # nothing created
