"""C++ (cpp_runtime/src/detect.cpp) vs Python (edgekit/detect/postprocess.py) detections on the same
raw outputs.

Random raw outputs (several seeds, both encodings, letterbox specs, random image sizes, exact score ties,
heavy box overlap) are written as .npy; the C++ tool edgekit-detect-check runs the library's detect()
over all of them in one process. Count, class and order must be identical; boxes and scores equal (the
decode is the same float32 operations in the same order, the inverse the same float64 ones), except that
a sigmoid score may differ by 1 float32 ulp: both sides compute it in float64 and round once (float32 exp
was NumPy's own SIMD code vs the C library's expf, up to 4 ulps apart); float64 exp may still differ in its
last bit between NumPy's SIMD path on some CPUs and libm, which can flip a float32 rounding. 0 measured on
AMD EPYC (AVX2). The worst differences are printed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgekit import runtime_cpp
from edgekit.bundle import DetectionPostprocess
from edgekit.detect.postprocess import Detection, candidates, decode, detect
from edgekit.preprocess.spec import PreprocessSpec

TOOL = "edgekit-detect-check"
SIGMOID_ULPS = 1  # allowed float32 ulps between NumPy's and libm's float64-exp sigmoid


def _tool() -> Path:
    if not runtime_cpp.is_built():
        pytest.skip("the C++ runtime is not built: run tools/setup.sh")
    p = runtime_cpp.bin_dir() / TOOL
    assert p.is_file(), f"{p} is missing: the C++ tests were not built (EDGEKIT_BUILD_TESTS=ON builds it)"
    return p


def _logits(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Logits on a 1/64 grid in [-8, 8]: many exact ties, and two different logits give sigmoids far more than
    SIGMOID_ULPS apart, so the few-ulp exp difference between NumPy and libm cannot reorder candidates or
    move one across a threshold (the agreement is then exact; the ulps are measured and reported)."""
    x = np.clip(rng.normal(-0.5, 2.0, shape), -8.0, 8.0)
    coarse = rng.random(shape) < 0.4
    x[coarse] = np.round(x[coarse] * 2.0) / 2.0  # more ties
    return (np.round(x * 64.0) / 64.0).astype(np.float32)


def _case(rng: np.random.Generator, encoding: str) -> tuple[np.ndarray, dict[str, Any], dict[str, Any], list]:
    n = int(rng.integers(1, 4))
    c = int(rng.integers(1, 6))
    post: dict[str, Any] = {
        "type": "detection", "encoding": encoding,
        "score_threshold": float(rng.choice([0.0, 0.1, 0.3, 0.5])),
        "nms_iou": float(rng.choice([0.3, 0.5, 0.7, 1.0 / 3.0])),
        "max_detections": int(rng.choice([1, 5, 20, 100])),
        "pre_nms_top_k": int(rng.choice([3, 50, 1000])),
        "class_agnostic": bool(rng.integers(0, 2)),
        "background_class": bool(rng.integers(0, 2)) and c > 1,
        "coordinates": "original" if rng.random() < 0.8 else "input",
    }  # fmt: skip
    if encoding == "edgekit_ltrb":
        stride = int(rng.choice([4, 8, 16]))
        gh, gw = int(rng.integers(2, 10)), int(rng.integers(2, 10))
        th, tw = gh * stride, gw * stride
        raw = rng.normal(0.0, 1.5, (n, 4 + c, gh, gw)).astype(np.float32)
        raw[:, 4:] = _logits(rng, (n, c, gh, gw))
        post.update(stride=stride, score_activation="sigmoid")
    else:
        a = int(rng.integers(20, 300))
        th, tw = int(rng.choice([32, 64, 96])), int(rng.choice([32, 64, 128]))
        raw = np.zeros((n, 4 + c, a), np.float32)
        fmt = str(rng.choice(["cxcywh", "xyxy"]))
        cx, cy = rng.uniform(0, tw, (n, a)), rng.uniform(0, th, (n, a))
        bw, bh = rng.uniform(1, tw / 2, (n, a)), rng.uniform(1, th / 2, (n, a))
        if fmt == "cxcywh":
            raw[:, 0], raw[:, 1], raw[:, 2], raw[:, 3] = cx, cy, bw, bh
        else:
            raw[:, 0], raw[:, 1], raw[:, 2], raw[:, 3] = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
        act = str(rng.choice(["none", "sigmoid"]))
        if act == "none":  # continuous scores (identical on both sides), 40 % of them tied on a 1/8 grid
            s = rng.uniform(0, 1, (n, c, a))
            tie = rng.random(s.shape) < 0.4
            s[tie] = np.round(s[tie] * 8.0) / 8.0
            raw[:, 4:] = s.astype(np.float32)
        else:
            raw[:, 4:] = _logits(rng, (n, c, a))
        post.update(box_format=fmt, score_activation=act)
    if rng.random() < 0.1:  # non-finite values are skipped on both sides
        raw[0, int(rng.integers(0, 4 + c))].flat[0] = np.nan
    letterbox = {"op": "resize", "mode": "letterbox", "size": [th, tw], "pad_value": 114}
    spec = {"steps": [{"op": "decode"}, letterbox, {"op": "to_float"}, {"op": "layout", "to": "NCHW"}]}
    hw = [[int(rng.integers(8, 500)), int(rng.integers(8, 500))] for _ in range(n)]
    return raw, post, spec, hw


def _ulps(a: float, b: float) -> int:
    ia, ib = (int(np.array(v, np.float32).view(np.int32)) for v in (a, b))
    return abs(ia - ib)


def _run_cpp(tool: Path, cases: list[dict[str, Any]], tmp: Path) -> list[list[list[dict[str, Any]]]]:
    (tmp / "cases.json").write_text(json.dumps({"cases": cases}))
    p = subprocess.run([str(tool), str(tmp / "cases.json")], capture_output=True, text=True, timeout=120,
                       check=False)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["results"]  # type: ignore[no-any-return]


def test_cpp_and_python_detections_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tool = _tool()
    labels = ["a", "b", "c", "d"]  # fewer than the classes sometimes: label "" past the list
    cases: list[dict[str, Any]] = []
    py: list[list[list[Detection]]] = []
    ties = suppressed = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        enc = "edgekit_ltrb" if seed % 2 == 0 else "anchor_free_grid"
        raw, post_d, spec_d, hw = _case(rng, enc)
        f = tmp_path / f"raw_{seed}.npy"
        np.save(f, raw)
        cases.append({"output": str(f), "postprocess": post_d, "preprocess": spec_d, "image_hw": hw,
                      "labels": labels})
        post = DetectionPostprocess.model_validate(post_d)
        spec = PreprocessSpec.model_validate(spec_d)
        py.append(detect(raw, post, labels, spec, [(h, w) for h, w in hw]))
        for b in range(raw.shape[0]):  # the subject is exercised: ties among candidates, NMS suppressions
            boxes, scores = decode(raw[b], post)
            ks = candidates(boxes, scores, post)
            s = scores.reshape(-1)[ks]
            ties += int(np.sum(s[1:] == s[:-1]))
            suppressed += min(len(ks), post.max_detections) - len(py[-1][b])
    cpp = _run_cpp(tool, cases, tmp_path)
    assert len(cpp) == len(py) == 60
    n_det = n_rows = 0
    worst_box = 0.0
    worst_score = 0.0
    worst_ulps = {"none": 0, "sigmoid": 0}
    for i, (pc, cc) in enumerate(zip(py, cpp, strict=True)):
        assert len(pc) == len(cc), f"case {i}: batch rows"
        for b, (prow, crow) in enumerate(zip(pc, cc, strict=True)):
            n_rows += 1
            where = f"case {i} ({cases[i]['postprocess']['encoding']}) row {b}"
            assert len(prow) == len(crow), f"{where}: {len(prow)} Python vs {len(crow)} C++ detections"
            assert [d.class_id for d in prow] == [d["class_id"] for d in crow], f"{where}: classes/order"
            assert [d.label for d in prow] == [d["label"] for d in crow], f"{where}: labels"
            for d, e in zip(prow, crow, strict=True):
                n_det += 1
                worst_box = max(worst_box, max(abs(x - y) for x, y in zip(d.box, e["box"], strict=True)))
                worst_score = max(worst_score, abs(d.score - e["score"]))
                act = cases[i]["postprocess"]["score_activation"]
                worst_ulps[act] = max(worst_ulps[act], _ulps(d.score, e["score"]))
    with capsys.disabled():
        print(f"\nC++ vs Python detections: {len(cases)} cases, {n_rows} rows, {n_det} detections, "
              f"{ties} tied candidate pairs, {suppressed} NMS suppressions; identical count/class/order; "
              f"worst |box diff| {worst_box:.3g} px, worst |score diff| {worst_score:.3g} "
              f"(float32 ulps: sigmoid {worst_ulps['sigmoid']}, raw scores {worst_ulps['none']})")
    assert n_det >= 200 and ties >= 50 and suppressed >= 50, (n_det, ties, suppressed)
    assert worst_box == 0.0, f"boxes differ by up to {worst_box} px"
    assert worst_ulps["none"] == 0, "raw scores are copied, not computed: they must be identical"
    assert worst_ulps["sigmoid"] <= SIGMOID_ULPS, f"sigmoid scores differ by {worst_ulps['sigmoid']} ulps"


def test_the_agreement_check_sees_a_changed_detection(tmp_path: Path) -> None:
    """The comparison above fails when the two sides differ: a changed threshold on the C++ side only."""
    tool = _tool()
    rng = np.random.default_rng(3)
    raw, post_d, spec_d, hw = _case(rng, "anchor_free_grid")
    post_d.update(score_threshold=0.1, score_activation="none", max_detections=100)
    np.save(tmp_path / "raw.npy", raw)
    changed = dict(post_d, score_threshold=0.2)
    cpp = _run_cpp(tool, [{"output": str(tmp_path / "raw.npy"), "postprocess": changed, "preprocess": spec_d,
                           "image_hw": hw, "labels": []}], tmp_path)[0]
    py: list[list[Detection]] = detect(raw, DetectionPostprocess.model_validate(post_d), [],
                                       PreprocessSpec.model_validate(spec_d), [(h, w) for h, w in hw])
    assert sum(len(r) for r in py) > sum(len(r) for r in cpp) > 0


def test_the_tool_refuses_a_bad_output(tmp_path: Path) -> None:
    tool = _tool()
    np.save(tmp_path / "raw.npy", np.zeros((1, 6, 4), np.float32))
    spec = {"steps": [{"op": "decode"}, {"op": "to_float"}, {"op": "layout"}]}
    (tmp_path / "c.json").write_text(json.dumps({"cases": [{
        "output": str(tmp_path / "raw.npy"), "postprocess": {"type": "detection"}, "preprocess": spec,
        "image_hw": [[4, 4]], "labels": []}]}))  # fmt: skip
    p = subprocess.run([str(tool), str(tmp_path / "c.json")], capture_output=True, text=True, timeout=60,
                       check=False)
    assert p.returncode == 2 and "is not [N, 4 + C, H, W] (edgekit_ltrb)" in p.stderr, p.stderr
