"""Bad input to edgekit-infer: exit 2 and one "error: ..." line with the fix; NaN/Inf output: exit 3."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekit import bundle as B
from edgekit import runtime_cpp

from .conftest import copy_bundle, run_bin


def _one_error(r, *needles: str) -> str:  # type: ignore[no-untyped-def]
    assert r.rc == 2, (r.rc, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and " — fix: " in lines[0], lines[0]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_bad_checksum(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    p = b / "models" / "student_fp32.onnx"
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    r = run_bin(infer_bin, "--bundle", b, "--input", b / "golden" / "000.png")
    _one_error(r, "models/student_fp32.onnx does not match its sha256", "re-flash")


def test_corrupt_model_with_matching_checksum(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    (b / "models" / "student_fp32.onnx").write_bytes(b"\x08\x07garbage that is not a model")
    B.write_manifest(b, B.load(b, verify=False).manifest)  # re-hash: only ONNX Runtime can tell now
    r = run_bin(infer_bin, "--bundle", b, "--input", b / "golden" / "000.png")
    _one_error(r, "ONNX Runtime cannot load model", "student_fp32.onnx")


def test_missing_model_file(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    (b / "models" / "student_int8_cpu.onnx").unlink()
    r = run_bin(infer_bin, "--bundle", b, "--input", b / "golden" / "000.png")
    _one_error(r, "student_int8_cpu.onnx is missing")


def test_newer_schema(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    m = json.loads((b / "manifest.json").read_text())
    m["schema_version"] = 2
    (b / "manifest.json").write_text(json.dumps(m))
    r = run_bin(infer_bin, "--bundle", b, "--input", b / "golden" / "000.png")
    _one_error(r, "schema_version 2, newer than this edgekit runtime understands (1)", "upgrade")


def test_invalid_manifest_field(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    m = json.loads((b / "manifest.json").read_text())
    m["preprocess"]["steps"][1]["interpolation"] = "cubic"
    (b / "manifest.json").write_text(json.dumps(m))
    r = run_bin(infer_bin, "--bundle", b, "--input", b / "golden" / "000.png")
    _one_error(r, "'preprocess.steps.1.interpolation' [schema.enum]: \"cubic\" is not one of")


def test_not_a_bundle(infer_bin: Path, tmp_path: Path) -> None:
    _one_error(run_bin(infer_bin, "--bundle", tmp_path, "--input", "x.png"), "manifest.json is missing")


def test_undecodable_image(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n but then nothing useful")
    _one_error(run_bin(infer_bin, "--bundle", tiny_bundle, "--input", bad), "cannot decode", "broken.png")


def test_missing_input_and_empty_folder(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    _one_error(
        run_bin(infer_bin, "--bundle", tiny_bundle, "--input", tmp_path / "nope.png"), "does not exist"
    )
    _one_error(
        run_bin(infer_bin, "--bundle", tiny_bundle, "--input", tmp_path), "holds no .png/.jpg/.jpeg/.bmp"
    )


@pytest.mark.parametrize(
    ("array", "needle"),
    [
        (
            np.zeros((1, 1, 27, 28), np.float32),
            "has shape (1, 1, 27, 28), the model input 'input' needs [-1, 1, 28, 28]",
        ),
        (np.zeros((1, 28, 28), np.float32), "has shape (1, 28, 28)"),
        (np.zeros((1, 1, 28, 28), np.float64), "has dtype <f8, the model input needs float32"),
    ],
)
def test_bad_npy(tiny_bundle: Path, infer_bin: Path, tmp_path: Path, array: np.ndarray, needle: str) -> None:
    np.save(tmp_path / "x.npy", array)
    _one_error(run_bin(infer_bin, "--bundle", tiny_bundle, "--input", tmp_path / "x.npy"), needle)


def test_not_npy(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    (tmp_path / "x.npy").write_text("hello")
    _one_error(
        run_bin(infer_bin, "--bundle", tiny_bundle, "--input", tmp_path / "x.npy"), "not a NumPy .npy file"
    )


def test_unknown_model_and_backend_and_flag(tiny_bundle: Path, infer_bin: Path) -> None:
    img = tiny_bundle / "golden" / "000.png"
    _one_error(
        run_bin(infer_bin, "--bundle", tiny_bundle, "--input", img, "--model", "teacher"),
        "no model 'teacher'",
        "student_fp32, student_int8_cpu",
    )
    _one_error(
        run_bin(infer_bin, "--bundle", tiny_bundle, "--input", img, "--backend", "trt"),
        "built without TensorRT",
        "--backend ort",
    )
    _one_error(
        run_bin(infer_bin, "--bundle", tiny_bundle, "--input", img, "--fast"), "unknown argument '--fast'"
    )
    _one_error(
        run_bin(infer_bin, "--bundle", tiny_bundle, "--input", img, "--threads", "zero"), "--threads 'zero'"
    )
    _one_error(run_bin(infer_bin, "--input", img), "--bundle is required")


def test_execution_provider_missing_from_this_ort_build(tiny_bundle: Path, infer_bin: Path) -> None:
    import onnxruntime as ort

    if "TensorrtExecutionProvider" in ort.get_available_providers():
        pytest.skip("this ONNX Runtime has the TensorRT EP")
    img = tiny_bundle / "golden" / "000.png"
    for ep, name in (("tensorrt", "TensorRT"), ("cuda", "CUDA")):
        r = run_bin(infer_bin, "--bundle", tiny_bundle, "--input", img, "--ort-ep", ep)
        _one_error(r, f"has no {name} execution provider", "CPUExecutionProvider", "EDGEKIT_ORT_LIB")


def test_help_exits_0(infer_bin: Path, bench_bin: Path) -> None:
    for b in (infer_bin, bench_bin):
        r = run_bin(b, "--help")
        assert r.rc == 0 and "usage:" in r.stdout and "--bundle" in r.stdout


def test_ort_library_not_found(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    r = run_bin(
        infer_bin,
        "--bundle",
        tiny_bundle,
        "--input",
        tiny_bundle / "golden" / "000.png",
        env={"EDGEKIT_ORT_LIB": str(tmp_path / "libonnxruntime.so.1")},
    )
    _one_error(r, "cannot load the ONNX Runtime library", "EDGEKIT_ORT_LIB")


def test_nonfinite_output_exit_3(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    x = np.zeros((1, 1, 28, 28), np.float32)
    x[0, 0, 3, 3] = np.inf
    np.save(tmp_path / "inf.npy", x)
    r = run_bin(
        infer_bin,
        "--bundle",
        tiny_bundle,
        "--input",
        tmp_path / "inf.npy",
        "--json",
        "--output",
        tmp_path / "o",
    )
    assert r.rc == 3, r.stderr
    assert json.loads(r.stdout)["nonfinite"] is True
    assert "NaN/Inf" in r.stderr and r.stderr.startswith("error: ")
    assert (tmp_path / "o" / "results.jsonl").is_file()  # results are still written
    lines = runtime_cpp.run_infer(tiny_bundle, tmp_path / "inf.npy")  # exit 3 is not an exception
    assert lines[0]["nonfinite"] is True


def test_run_infer_raises_with_the_binary_message(tiny_bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(runtime_cpp.CppRuntimeError) as ei:
        runtime_cpp.run_infer(tiny_bundle, tmp_path / "nope.png")
    assert "does not exist" in ei.value.message and ei.value.fix == "check the path"


def test_find_binary_env_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEKIT_CPP_BIN_DIR", str(tmp_path))
    assert not runtime_cpp.is_built()
    with pytest.raises(runtime_cpp.CppRuntimeError) as ei:
        runtime_cpp.find_binary("edgekit-infer")
    assert "EDGEKIT_CPP_BIN_DIR" in ei.value.fix
    with pytest.raises(runtime_cpp.CppRuntimeError):
        runtime_cpp.find_binary("edgekit-nothing")
