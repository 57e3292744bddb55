"""edgekit-infer on a detection bundle (issue 16 item 6): the JSON lines and results.jsonl carry
image_size and detections (DET.md's format, no top_k), equal to edgekit.detect.postprocess.detect on the
same raw output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from edgekit import bundle as B
from edgekit import runtime_cpp
from edgekit.detect.postprocess import detect
from edgekit.preprocess import run as py_run
from edgekit.preprocess.spec import PreprocessSpec

from .conftest import SKIMAGE_DATA, run_bin

LABELS = ["cat", "cup", "person"]
PHOTOS = ("chelsea.png", "coffee.png", "camera.png")  # 451x300, 600x400 colour, 512x512 gray


def _detector(path: Path, classes: int = len(LABELS)) -> None:
    """A real ONNX detector head on [N, 3, 64, 64]: one stride-8 conv to [N, 4 + C, 8, 8] (edgekit_ltrb)."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(16)
    w = (rng.standard_normal((4 + classes, 3, 8, 8)) * 0.08).astype(np.float32)
    bias = np.concatenate([np.full(4, 1.0), np.full(classes, -0.5)]).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w", "b"], ["raw"], strides=[8, 8])],
        "tiny_detector",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 64, 64])],
        [helper.make_tensor_value_info("raw", TensorProto.FLOAT, ["N", 4 + classes, 8, 8])],
        [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.tobytes(), raw=True),
         helper.make_tensor("b", TensorProto.FLOAT, bias.shape, bias.tobytes(), raw=True)],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)


def _spec() -> PreprocessSpec:
    return PreprocessSpec.model_validate({"steps": [
        {"op": "decode"}, {"op": "cvt_color", "code": "BGR2RGB"},
        {"op": "resize", "mode": "letterbox", "size": [64, 64], "pad_value": 114},
        {"op": "to_float"}, {"op": "normalize", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
        {"op": "layout", "to": "NCHW"}]})  # fmt: skip


@pytest.fixture(scope="module")
def det_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cpp") / "detector"
    with B.staging(out) as root:
        (root / "models").mkdir()
        (root / "golden").mkdir()
        _detector(root / "models" / "det_fp32.onnx")
        golden = []
        for name in PHOTOS:
            shutil.copy(SKIMAGE_DATA / name, root / "golden" / name)
            golden.append(B.GoldenItem(name=Path(name).stem, input=f"golden/{name}"))
        (root / "labels.txt").write_text("".join(f"{lb}\n" for lb in LABELS))
        m = B.Manifest(
            name="tiny-detector", device="cpu", task="detection",
            input=B.InputInfo(name="input", shape=[-1, 3, 64, 64]),
            outputs=[B.TensorInfo(name="raw", shape=[-1, 4 + len(LABELS), 8, 8])],
            preprocess=_spec(),
            postprocess=B.DetectionPostprocess(stride=8, score_threshold=0.3, nms_iou=0.5, max_detections=20),
            models=[B.ModelEntry(id="det_fp32", file="models/det_fp32.onnx", precision="fp32", role="student",
                                 opset=13)],
            default_model="det_fp32", golden=golden,
        )  # fmt: skip
        B.write_manifest(root, m)
    return out


def _ulps(a: object, b: object) -> int:
    return abs(int(np.array(a, np.float32).view(np.int32)) - int(np.array(b, np.float32).view(np.int32)))


def _as_dicts(dets: list) -> list[dict[str, object]]:  # type: ignore[type-arg]
    return [d.as_dict() for d in dets]


def test_detection_lines_are_the_python_postprocess_of_the_same_output(
    det_bundle: Path, infer_bin: Path, tmp_path: Path
) -> None:
    b = B.load(det_bundle)
    post = b.manifest.postprocess
    assert isinstance(post, B.DetectionPostprocess)
    r = run_bin(infer_bin, "--bundle", det_bundle, "--input", det_bundle / "golden", "--output", tmp_path,
                "--json")
    assert r.rc == 0, r.stderr
    lines = [json.loads(s) for s in r.stdout.splitlines()]
    assert [json.loads(s) for s in (tmp_path / "results.jsonl").read_text().splitlines()] == lines
    images = sorted((det_bundle / "golden").glob("*.png"))
    assert [ln["input"] for ln in lines] == [str(p) for p in images] and len(lines) == 3
    sess = ort.InferenceSession(str(b.model_path()), providers=["CPUExecutionProvider"])
    total = 0
    for ln, img in zip(lines, images, strict=True):
        assert "top_k" not in ln and "scores" not in ln
        assert set(ln) == {"input", "model", "nonfinite", "timing_ms", "image_size", "detections"}
        x, stages = py_run(b.manifest.preprocess, img, collect=True)
        h, w = stages[0].tensor.shape[:2]
        assert ln["image_size"] == [h, w]
        # (a) the postprocess alone: Python's detect on the C++ side's own raw output gives exactly its lines
        # (sigmoid scores within a few float32 ulps: NumPy's float32 exp is not libm's expf; all else exact)
        raw = np.load(tmp_path / f"{img.stem}_raw.npy")
        want = _as_dicts(detect(raw, post, b.labels(), b.manifest.preprocess, [(h, w)])[0])
        assert [{**d, "score": 0} for d in ln["detections"]] == [{**d, "score": 0} for d in want], img.name
        assert max(_ulps(d["score"], e["score"]) for d, e in zip(ln["detections"], want, strict=True)) <= 4
        # (b) end to end against Python's preprocessing + onnxruntime
        py = detect(sess.run(None, {"input": x})[0], post, b.labels(), b.manifest.preprocess, [(h, w)])[0]
        assert [d.class_id for d in py] == [d["class_id"] for d in ln["detections"]]
        for d, e in zip(py, ln["detections"], strict=True):
            assert np.allclose(d.box, e["box"], atol=1e-3) and abs(d.score - e["score"]) < 1e-5
            assert e["label"] == LABELS[e["class_id"]]
            assert 0 <= e["box"][0] <= e["box"][2] <= w and 0 <= e["box"][1] <= e["box"][3] <= h
        total += len(ln["detections"])
    assert total >= 5, "the detector found (almost) nothing: the comparison would be empty"


def test_human_table_shows_the_count_and_the_best_detection(det_bundle: Path, infer_bin: Path) -> None:
    img = det_bundle / "golden" / "chelsea.png"
    line = runtime_cpp.run_infer(det_bundle, img)[0]
    r = run_bin(infer_bin, "--bundle", det_bundle, "--input", img)
    assert r.rc == 0, r.stderr
    head, row = r.stdout.splitlines()[:2]
    assert "boxes" in head and "best" in head and "top-1" not in head
    best = line["detections"][0]
    assert row.split()[:3] == ["chelsea.png", str(len(line["detections"])), best["label"]]
    assert f"{best['score']:.4f}" in row and f"[{best['box'][0]:.1f}," in row


def test_npy_input_keeps_network_input_coordinates(det_bundle: Path, tmp_path: Path) -> None:
    b = B.load(det_bundle)
    x = np.concatenate([py_run(b.manifest.preprocess, det_bundle / "golden" / n)[0] for n in PHOTOS[:2]])
    np.save(tmp_path / "batch.npy", x)
    lines = runtime_cpp.run_infer(det_bundle, tmp_path / "batch.npy", output=tmp_path / "o")
    assert [ln["batch_index"] for ln in lines] == [0, 1]
    raw = np.load(tmp_path / "o" / "batch_raw.npy")
    post = b.manifest.postprocess
    assert isinstance(post, B.DetectionPostprocess)
    want = detect(raw, post.model_copy(update={"coordinates": "input"}), b.labels())
    for ln, row in zip(lines, want, strict=True):
        assert ln["coordinates"] == "input" and ln["image_size"] == [64, 64]
        got, exp = ln["detections"], _as_dicts(row)
        assert [{**d, "score": 0} for d in got] == [{**d, "score": 0} for d in exp]
        assert all(_ulps(d["score"], e["score"]) <= 4 for d, e in zip(got, exp, strict=True))
    assert sum(len(r) for r in want) > 0
