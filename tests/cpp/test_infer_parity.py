"""edgekit-infer vs the Python side: every preprocessing stage bit-identical to
edgekit.preprocess.run(..., collect=True); outputs equal to Python onnxruntime within 1e-5."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from edgekit import bundle as B
from edgekit import runtime_cpp
from edgekit.preprocess import run as py_run

from .conftest import run_bin


def _session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _check_dump(bundle_dir: Path, model_id: str, images: list[Path], dump: Path) -> int:
    b = B.load(bundle_dir)
    spec = b.manifest.preprocess
    sess = _session(b.model_path(model_id))
    n_stages = 0
    for img in images:
        x, stages = py_run(spec, img, collect=True)
        d = dump / img.stem
        assert sorted(p.name for p in d.glob("*.npy")) == sorted(
            [f"{s.name}.npy" for s in stages] + ["output_logits.npy"]
        )
        for s in stages:
            got = np.load(d / f"{s.name}.npy")
            assert got.dtype == s.tensor.dtype and got.shape == s.tensor.shape, (img.name, s.name)
            assert got.tobytes() == s.tensor.tobytes(), f"{img.name} {s.name}: not bit-identical"
            n_stages += 1
        want = sess.run(None, {b.manifest.input.name: x})[0]
        got = np.load(d / "output_logits.npy")
        assert got.shape == want.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    return n_stages


@pytest.mark.parametrize("model_id", ["student_fp32", "student_int8_cpu"])
def test_tiny_bundle_golden_stages_and_outputs(tiny_bundle: Path, tmp_path: Path, model_id: str) -> None:
    lines = runtime_cpp.run_infer(tiny_bundle, tiny_bundle / "golden", model=model_id, dump_stages=tmp_path)
    images = sorted((tiny_bundle / "golden").glob("*.png"))
    assert len(lines) == len(images) == 16
    assert [ln["input"] for ln in lines] == [str(p) for p in images]
    assert all(ln["model"] == model_id and not ln["nonfinite"] for ln in lines)
    assert _check_dump(tiny_bundle, model_id, images, tmp_path) == 16 * 5


def test_tiny_bundle_top1_matches_python(tiny_bundle: Path) -> None:
    b = B.load(tiny_bundle)
    sess = _session(b.model_path())
    lines = runtime_cpp.run_infer(tiny_bundle, tiny_bundle / "golden")
    for ln, item in zip(lines, b.manifest.golden, strict=True):
        x, _ = py_run(b.manifest.preprocess, tiny_bundle / item.input)
        logits = sess.run(None, {"input": x})[0][0]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        top = ln["top_k"]
        assert len(top) == b.manifest.postprocess.top_k
        assert top[0]["index"] == int(np.argmax(p))
        assert top[0]["label"] == str(int(np.argmax(p)))
        assert abs(top[0]["score"] - float(p.max())) < 1e-5
        assert set(ln["timing_ms"]) == {"preprocess", "infer"}


def test_imagenet_spec_on_photos_bit_identical(imagenet_bundle: Path, tmp_path: Path) -> None:
    images = sorted((imagenet_bundle / "golden").glob("*.png"))
    lines = runtime_cpp.run_infer(imagenet_bundle, imagenet_bundle / "golden", dump_stages=tmp_path)
    assert len(lines) == 3
    # camera.png is a gray PNG: decode (IMREAD_COLOR, like Python) gives 3 channels.
    assert np.load(tmp_path / "camera" / "00_decode.npy").shape == (512, 512, 3)
    assert np.load(tmp_path / "chelsea" / "00_decode.npy").shape == (300, 451, 3)
    assert np.load(tmp_path / "chelsea" / "02_resize.npy").shape == (256, 385, 3)  # 451 * 256 / 300 = 384.85
    assert _check_dump(imagenet_bundle, "tiny_fp32", images, tmp_path) == 3 * 7
    assert [t["label"] for t in lines[0]["top_k"]][0] in {"cat", "coffee", "man", "tree", "sky"}


def test_output_dir_and_results_jsonl(tiny_bundle: Path, infer_bin: Path, tmp_path: Path) -> None:
    img = tiny_bundle / "golden" / "003.png"
    r = run_bin(infer_bin, "--bundle", tiny_bundle, "--input", img, "--output", tmp_path, "--json")
    assert r.rc == 0, r.stderr
    assert (tmp_path / "003_logits.npy").is_file()
    assert np.load(tmp_path / "003_logits.npy").shape == (1, 10)
    assert [json.loads(s) for s in (tmp_path / "results.jsonl").read_text().splitlines()] == [
        json.loads(s) for s in r.stdout.splitlines()
    ]
    human = run_bin(infer_bin, "--bundle", tiny_bundle, "--input", img)
    assert human.rc == 0 and "003.png" in human.stdout and "top-1" in human.stdout


def test_npy_input_gives_the_same_output_as_the_image(tiny_bundle: Path, tmp_path: Path) -> None:
    b = B.load(tiny_bundle)
    imgs = [tiny_bundle / g.input for g in b.manifest.golden[:3]]
    batch = np.concatenate([py_run(b.manifest.preprocess, p)[0] for p in imgs])
    np.save(tmp_path / "batch.npy", batch)
    np.save(tmp_path / "one.npy", batch[:1])
    one = runtime_cpp.run_infer(tiny_bundle, tmp_path / "one.npy", output=tmp_path / "o1")
    ref = runtime_cpp.run_infer(tiny_bundle, imgs[0], output=tmp_path / "o2")
    assert one[0]["top_k"] == ref[0]["top_k"]
    assert one[0]["timing_ms"]["preprocess"] == 0
    assert np.array_equal(
        np.load(tmp_path / "o1" / "one_logits.npy"), np.load(tmp_path / "o2" / "000_logits.npy")
    )
    many = runtime_cpp.run_infer(tiny_bundle, tmp_path / "batch.npy", output=tmp_path / "o3")
    assert [m["batch_index"] for m in many] == [0, 1, 2]
    assert np.load(tmp_path / "o3" / "batch_logits.npy").shape == (3, 10)
    assert many[0]["top_k"] == ref[0]["top_k"]


def test_threads_option_does_not_change_results(tiny_bundle: Path) -> None:
    a = runtime_cpp.run_infer(tiny_bundle, tiny_bundle / "golden" / "005.png", threads=1)
    b = runtime_cpp.run_infer(tiny_bundle, tiny_bundle / "golden" / "005.png", threads=2)
    assert [t["index"] for t in a[0]["top_k"]] == [t["index"] for t in b[0]["top_k"]]
    assert abs(a[0]["top_k"][0]["score"] - b[0]["top_k"][0]["score"]) < 1e-5
