"""Engine metadata and refusal. The engine bytes here are opaque test bytes, not TensorRT engines
(no TensorRT on this host): what is tested is the store / compare / refuse / rebuild logic the runtime
relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit.bundle import sha256_file
from edgekit.errors import BundleError
from edgekit.trt.engine_cache import (
    REQUIRED_KEYS,
    DeviceEnv,
    EngineMeta,
    EngineMismatch,
    load_or_rebuild,
    meta_path,
    mismatches,
    read_meta,
    refuse_if_mismatched,
    store,
)

ENV = DeviceEnv("8.5.2.2", "7.2", "linux-aarch64")


@pytest.fixture()
def onnx_file(tmp_path: Path) -> Path:
    p = tmp_path / "m.onnx"
    p.write_bytes(b"onnx-bytes")
    return p


def test_metadata_keys_are_the_runtime_contract(tmp_path: Path) -> None:
    e = store(
        tmp_path / "trt" / "m.fp16.dla0.engine",
        b"E",
        EngineMeta("8.5.2.2", "7.2", "fp16", 0, "ab" * 32, platform="linux-aarch64"),
    )
    assert meta_path(e).name == "m.fp16.dla0.engine.json"
    raw = json.loads(meta_path(e).read_text())
    assert REQUIRED_KEYS == ("trt_version", "compute_capability", "precision", "dla_core", "model_sha256")
    assert set(raw) == {*REQUIRED_KEYS, "built_at", "platform"}
    assert raw["dla_core"] == 0 and read_meta(e).precision == "fp16"
    assert not list(tmp_path.rglob("*.tmp"))


def test_each_mismatch_is_named() -> None:
    meta = EngineMeta("8.5.2.2", "7.2", "fp16", 0, "aa", platform="linux-aarch64")
    assert mismatches(meta, ENV, "aa", "fp16", 0) == []
    assert mismatches(meta, DeviceEnv("8.5.2.9", "7.2", "linux-aarch64")) == []  # same 8.5.2 release
    assert "TensorRT 8.5.2.2" in mismatches(meta, DeviceEnv("8.6.2", "7.2", "linux-aarch64"))[0]
    assert "compute capability 7.2" in mismatches(meta, DeviceEnv("8.5.2", "8.7", "linux-aarch64"))[0]
    assert "platform" in mismatches(meta, DeviceEnv("8.5.2", "7.2", "linux-x86_64"))[0]
    assert "model_sha256" in mismatches(meta, ENV, "bb")[0]
    assert "precision" in mismatches(meta, ENV, precision="int8")[0]
    assert "DLA core" in mismatches(meta, ENV, dla_core=1)[0]
    assert "DLA core" in mismatches(meta, ENV, dla_core=None)[0]


def test_load_or_rebuild(tmp_path: Path, onnx_file: Path) -> None:
    engine = tmp_path / "trt" / "m.fp16.engine"
    builds: list[int] = []
    logs: list[str] = []

    def build() -> bytes:
        builds.append(1)
        return b"engine-%d" % len(builds)

    data, rebuilt = load_or_rebuild(engine, onnx_file, ENV, "fp16", None, build, logs.append)
    assert (data, rebuilt, len(builds)) == (b"engine-1", True, 1) and "no engine stored" in logs[-1]
    assert read_meta(engine).model_sha256 == sha256_file(onnx_file)
    data, rebuilt = load_or_rebuild(engine, onnx_file, ENV, "fp16", None, build, logs.append)
    assert (data, rebuilt, len(builds)) == (b"engine-1", False, 1)  # cached, matching
    other = DeviceEnv("10.3.0", "8.7", "linux-aarch64")
    data, rebuilt = load_or_rebuild(engine, onnx_file, other, "fp16", None, build, logs.append)
    assert (data, rebuilt) == (b"engine-2", True)
    assert (
        "refusing engine" in logs[-1] and "TensorRT 8.5.2.2" in logs[-1] and "compute capability" in logs[-1]
    )
    onnx_file.write_bytes(b"new-onnx")
    _, rebuilt = load_or_rebuild(engine, onnx_file, other, "fp16", None, build, logs.append)
    assert rebuilt and "model_sha256" in logs[-1]
    meta_path(engine).write_text("{not json")
    _, rebuilt = load_or_rebuild(engine, onnx_file, other, "fp16", None, build, logs.append)
    assert rebuilt and "invalid" in logs[-1]


def test_refuse_if_mismatched(tmp_path: Path) -> None:
    e = store(
        tmp_path / "m.engine", b"E", EngineMeta("8.5.2.2", "7.2", "int8", 1, "aa", platform="linux-aarch64")
    )
    assert refuse_if_mismatched(e, ENV, "aa").dla_core == 1
    with pytest.raises(
        EngineMismatch, match="refused: built with TensorRT 8.5.2.2, this device has 10.3.0"
    ) as ei:
        refuse_if_mismatched(e, DeviceEnv("10.3.0", "7.2", "linux-aarch64"))
    assert ei.value.exit_code == 1 and ei.value.fix
    meta_path(e).unlink()
    with pytest.raises(BundleError, match="metadata .* is missing"):
        refuse_if_mismatched(e, ENV)
    meta_path(e).write_text(json.dumps({"trt_version": "8.5.2"}))
    with pytest.raises(BundleError, match="missing keys"):
        read_meta(e)
