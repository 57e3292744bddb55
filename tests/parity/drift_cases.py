"""The drift cases, as data: each is an edit a user could make to a copy of a clean bundle (or none, for the
clean cases) and the assertions on the parity report. ``test_drift.py`` runs every case on every runtime it
names; ``test_comparison_matters.py`` runs every case again with the numeric comparison disabled (drift
cases) or made to see a difference everywhere (clean cases) and requires the same assertions to FAIL — so
no case can pass without the comparison that it claims to test."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edgekit.parity.report import ParityReport
from tests.parity.conftest import CPP_BINARY, edit_manifest, rehash, step

ALL = ("ort", "torch", "cpp")
NO_TORCH = ("ort", "cpp")


@dataclass(frozen=True)
class Case:
    id: str
    bundle: str  # "tiny" or "color"
    expect: Callable[[ParityReport], None]  # the assertions; they raise AssertionError
    edit: Callable[[Path], None] | None = None  # None: the clean session bundle, unmodified
    runtimes: tuple[str, ...] = ALL
    model: str | None = None
    binary: Callable[[Path], Path] | None = None  # cpp: wraps edgekit-infer (given a scratch folder)
    needs_cpp_build: bool = True  # False: ``binary`` is a stand-in that does not run the built edgekit-infer
    no_drift: bool = False  # no drift injected (a "not verified" case): the meta test is the paranoid one

    @property
    def clean(self) -> bool:
        return self.id.startswith("clean") or self.id.startswith("equivalent") or self.no_drift


def headline(r: ParityReport) -> tuple[str, str]:
    assert r.diagnoses, r.to_dict()
    return r.diagnoses[0].step, r.diagnoses[0].cause


def out_of_sync(r: ParityReport) -> None:
    assert not r.in_sync and r.exit_code == 1 and r.verdict == "NOT in sync", r.summary()


def in_sync(r: ParityReport) -> None:
    assert r.in_sync and r.exit_code == 0, r.to_dict()
    c = r.coverage
    assert c.items > 0 and c.ran == c.stages == c.outputs == c.postprocess == c.items, c


def diag(r: ParityReport, step_name: str) -> str:
    found = [d.cause for d in r.diagnoses if d.step == step_name]
    assert found, [(d.step, d.cause) for d in r.diagnoses]
    return found[0]


# -- edits ---------------------------------------------------------------------------------------------------


def _step(op: str, **kw: object) -> Callable[[Path], None]:
    return lambda root: edit_manifest(root, lambda raw: step(raw, op).update(**kw))


def _drop_cvt(root: Path) -> None:
    def drop(raw: dict) -> None:
        raw["preprocess"]["steps"] = [s for s in raw["preprocess"]["steps"] if s["op"] != "cvt_color"]

    edit_manifest(root, drop)


def _grow_resize(root: Path) -> None:
    def grow(raw: dict) -> None:
        step(raw, "resize").update(size=[32, 32])
        raw["input"]["shape"] = [-1, 1, 32, 32]

    edit_manifest(root, grow)


def _grow_crop(root: Path) -> None:
    def grow(raw: dict) -> None:
        step(raw, "center_crop").update(size=[36, 36])
        raw["input"]["shape"] = [-1, 3, 36, 36]

    edit_manifest(root, grow)


def _nhwc(root: Path) -> None:
    def nhwc(raw: dict) -> None:
        step(raw, "layout").update(to="NHWC")
        raw["input"].update(layout="NHWC", shape=[-1, 28, 28, 1])

    edit_manifest(root, nhwc)


def _labels(change: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        p = root / "labels.txt"
        p.write_text("\n".join(change(p.read_text().splitlines())) + "\n")
        rehash(root)

    return edit


def _post(**kw: object) -> Callable[[Path], None]:
    return lambda root: edit_manifest(root, lambda raw: raw["postprocess"].update(**kw))


def _other_onnx_weights(root: Path) -> None:
    import onnx
    from onnx import numpy_helper

    path = root / "models" / "student_fp32.onnx"
    m = onnx.load(str(path))
    rng = np.random.default_rng(1)
    for init in m.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype == np.float32 and a.ndim >= 2:  # conv/linear weights: another training run, same graph
            init.CopyFrom(numpy_helper.from_array(rng.permutation(a.reshape(-1)).reshape(a.shape), init.name))
    onnx.save(m, str(path))
    rehash(root)


def _other_torch_model(root: Path) -> None:
    import torch

    from tests.fixtures.tiny_bundle import _net

    torch.manual_seed(7)
    other = _net().eval()
    torch.export.save(
        torch.export.export(other, (torch.zeros(1, 1, 28, 28),)), str(root / "reference" / "student_fp32.pt2")
    )
    rehash(root)


# -- expectations --------------------------------------------------------------------------------------------


def _clean_tiny(r: ParityReport) -> None:
    in_sync(r)
    assert [s.status for s in r.stages] == ["pass"] * 5
    assert r.outputs and r.outputs[0].max_abs <= r.outputs[0].max_abs_limit and r.outputs[0].top1 == 1.0
    assert [p.status for p in r.postprocess] == ["pass"] * 4


def _clean_int8(r: ParityReport) -> None:
    in_sync(r)
    assert r.precision == "int8" and r.outputs[0].max_abs_limit > 1e-2  # int8 tolerances, not fp32's


def _clean_color(r: ParityReport) -> None:
    in_sync(r)
    assert len(r.stages) == 7 and all(s.status == "pass" for s in r.stages)


def _fake_quant_agrees(r: ParityReport) -> None:
    chk = next(c for c in r.checks if c.name.startswith("reference torch vs ORT (student_int8_qdq"))
    assert chk.status == "pass" and "top-1 agreement 100.0%" in chk.detail


def _equivalent(r: ParityReport) -> None:
    """RGB2BGR and BGR2RGB are the same channel swap: the manifest differs, the computation does not. The
    verdict follows the numbers; the declaration difference is shown as a warning."""
    in_sync(r)
    chk = next(c for c in r.checks if c.name == "preprocessing vs training record")
    assert chk.status == "warn" and "BGR2RGB → RGB2BGR" in chk.detail


def _mean(r: ParityReport) -> None:
    out_of_sync(r)
    where, cause = headline(r)
    assert where == "03_normalize" and r.first_divergence == "03_normalize"
    assert "mean mismatch" in cause and "0.5" in cause and "std mismatch" not in cause


def _std(r: ParityReport) -> None:
    out_of_sync(r)
    where, cause = headline(r)
    assert where == "05_normalize" and "std mismatch" in cause and "[0.5, 0.5, 0.5]" in cause


def _rgb_bgr(r: ParityReport) -> None:
    out_of_sync(r)
    where, cause = headline(r)
    assert where == "01_cvt_color" and "channels appear swapped" in cause
    assert next(s for s in r.stages if s.ref_stage == "01_cvt_color").status == "missing"


def _interp(r: ParityReport) -> None:
    out_of_sync(r)
    where, cause = headline(r)
    assert where == "02_resize" and "interpolation" in cause and "matches area" in cause


def _input_size(r: ParityReport) -> None:
    out_of_sync(r)
    where, cause = headline(r)
    assert where == "01_resize" and "input size changed 28x28 → 32x32" in cause
    assert any(c.name == "manifest vs model" and c.status == "fail" for c in r.checks)


def _crop_size(r: ParityReport) -> None:
    out_of_sync(r)
    where, cause = headline(r)
    assert where == "03_center_crop" and "input size changed 32x32 → 36x36" in cause


def _nhwc_expect(r: ParityReport) -> None:
    out_of_sync(r)
    where, cause = headline(r)
    assert where == "04_layout" and "NHWC vs NCHW" in cause


def _scale(r: ParityReport) -> None:
    out_of_sync(r)
    where, cause = headline(r)
    assert where == "02_to_float" and "values ×255 — missing 1/255 scale" in cause


def _model(r: ParityReport) -> None:
    out_of_sync(r)
    assert all(s.status == "pass" for s in r.stages)  # identical input ...
    where, cause = headline(r)
    assert where == "model" and cause == "outputs differ with identical input → different model file"
    assert next(c for c in r.checks if c.name == "model file vs training record").status == "fail"
    assert "sha256 differs" in r.diagnoses[0].evidence
    assert not any(d.step == "runtime.kernels" for d in r.diagnoses)


def _check(r: ParityReport, name: str) -> str:
    return next(c.status for c in r.checks if c.name == name)


def _same_file_other_kernels(r: ParityReport) -> str:
    """The same model file (same sha256) fed the same input computes other outputs: the runtime's kernels,
    never "different model file"; still NOT in sync (a real difference). Returns the cause."""
    out_of_sync(r)
    assert all(s.status == "pass" for s in r.stages) and r.outputs[0].status == "fail"
    assert _check(r, "model file vs training record") == "pass"
    where, cause = headline(r)
    assert where == "runtime.kernels", (where, cause)
    assert cause.startswith("same model file and same input: the runtime computes differently")
    assert "INT8 integer kernels" in cause and "ARM" in cause
    assert not any("different model file" in d.cause for d in r.diagnoses), r.diagnoses
    assert "record the reference on the target architecture" in r.diagnoses[0].fix
    assert "Q/DQ model as written" in r.diagnoses[0].fix
    return cause


def _side_kernels(r: ParityReport) -> None:
    cause = _same_file_other_kernels(r)
    assert _check(r, "model file on training input") == "pass" and "record either" not in cause


def _record_kernels(r: ParityReport) -> None:
    cause = _same_file_other_kernels(r)
    assert "ONNX Runtime on this host does not reproduce the record either" in cause
    assert _check(r, "model file on training input") == "warn"  # the file is the recorded one
    assert "the record was made on x86_64 (avx512_vnni), onnxruntime 1.99.0" in r.diagnoses[0].evidence


def _perturb(a: np.ndarray, seed: int) -> np.ndarray:
    """What another CPU's INT8 kernels do to the logits, exaggerated past the INT8 tolerance (5 % of the
    range): a deterministic ripple of 12 % of max(1, max |logit|)."""
    k = np.arange(a.size, dtype=np.float64).reshape(a.shape)
    amp = 0.12 * max(1.0, float(np.abs(a).max()))
    return (a + amp * np.cos(1.7 * k + seed)).astype(a.dtype)


def _record_from_another_cpu(root: Path) -> None:
    """The reference as another CPU's ONNX Runtime computed it: the same model file (its sha256 in the record
    is untouched), the recorded outputs and training's top-k as that CPU's kernels gave them."""
    from edgekit import bundle as B
    from edgekit.parity.reference import RECORD, REF_DIR
    from edgekit.postprocess import classify

    b = B.load(root)
    m = b.manifest
    out = root / REF_DIR / "outputs"
    with np.load(out / "student_int8_cpu.ort.npz") as z:
        ort = {k: _perturb(z[k], 3) for k in z.files}
    np.savez_compressed(out / "student_int8_cpu.ort.npz", **ort)  # type: ignore[arg-type]
    tops = classify(ort[m.outputs[0].name], m.postprocess, b.labels())
    np.savez_compressed(
        out / "student_int8_cpu.post.npz",
        index=np.asarray([[t.index for t in row] for row in tops], dtype=np.int64),
        score=np.asarray([[t.score for t in row] for row in tops], dtype=np.float32),
    )
    rec = json.loads((root / RECORD).read_text())
    rec["recorded_on"] = "x86_64 (avx512_vnni), onnxruntime 1.99.0"
    (root / RECORD).write_text(json.dumps(rec, indent=2))
    rehash(root)


def _kernel_wrapper(tmp: Path) -> Path:
    """edgekit-infer as another CPU would run it: the real binary runs, then its output tensors get the
    other kernels' ripple and its --json top-k is recomputed from them (as that build would report)."""
    import sys

    repo = Path(__file__).resolve().parents[2]
    p = tmp / "edgekit-infer-other-cpu"
    p.write_text(f"""#!{sys.executable}
import json, subprocess, sys
from pathlib import Path
sys.path.insert(0, {str(repo)!r})
from edgekit import bundle as B
from edgekit.postprocess import classify
from tests.parity.drift_cases import _perturb
args = sys.argv[1:]
res = subprocess.run([{str(CPP_BINARY)!r}, *args], capture_output=True, text=True)
sys.stderr.write(res.stderr)
dump = Path(args[args.index("--dump-stages") + 1])
b = B.load(args[args.index("--bundle") + 1])
first = b.manifest.outputs[0].name
for ln in res.stdout.splitlines():
    if not ln.startswith("{{"):
        print(ln)
        continue
    rec = json.loads(ln)
    stem = Path(rec["input"]).stem
    for f in sorted((dump / stem).glob("output_*.npy")):
        import numpy as np
        a = _perturb(np.load(f), len(stem))
        np.save(f, a)
        if f.stem == "output_" + first:
            top = classify(a, b.manifest.postprocess, b.labels())[0]
            rec["top_k"] = [{{"index": t.index, "label": t.label, "score": t.score}} for t in top]
    print(json.dumps(rec))
sys.exit(res.returncode)
""")
    p.chmod(0o755)
    return p


def _torch_model(r: ParityReport) -> None:
    out_of_sync(r)
    where, cause = headline(r)
    assert where == "model" and "different model file" in cause


def _post_only(r: ParityReport) -> None:
    """Postprocess drift: the tensors are the same, what the side reports is not (and the declaration check
    says which field changed)."""
    out_of_sync(r)
    assert all(s.status == "pass" for s in r.stages) and all(o.status == "pass" for o in r.outputs)
    assert any(c.status == "fail" for c in r.checks if c.name in ("postprocess vs training record",
                                                                    "labels vs training record"))  # fmt: skip


def _label_order(r: ParityReport) -> None:
    _post_only(r)
    where, cause = headline(r)
    assert where == "postprocess.labels" and cause == "labels: order differs from training"
    assert next(p for p in r.postprocess if p.aspect == "labels").items_bad > 0


def _label_renamed(r: ParityReport) -> None:
    _post_only(r)
    where, cause = headline(r)
    assert where == "postprocess.labels" and cause == "labels: label names differ from training"
    assert "'3' → 'three'" in r.diagnoses[0].evidence


def _softmax_off(r: ParityReport) -> None:
    _post_only(r)
    where, cause = headline(r)
    assert where == "postprocess.softmax" and "raw logits as scores" in cause
    assert next(p for p in r.postprocess if p.aspect == "scores").items_bad == r.coverage.items
    assert "says its scores are 'raw'" in r.diagnoses[0].evidence  # edgekit-infer says so in its JSON too


def _softmax_on(r: ParityReport) -> None:
    _post_only(r)
    where, cause = headline(r)
    assert where == "postprocess.softmax" and "applies softmax" in cause


def _top_k(r: ParityReport) -> None:
    _post_only(r)
    where, cause = headline(r)
    assert where == "postprocess.top_k" and "reports 3 classes per item, training reports 5" in cause


def _issue_example(r: ParityReport) -> None:
    """The issue's report: apply_softmax false and top_k 1 gave "in sync"; both are named now."""
    _post_only(r)
    steps = [d.step for d in r.diagnoses]
    assert steps[:2] == ["postprocess.softmax", "postprocess.top_k"], steps
    assert "reports 1 class per item, training reports 5" in diag(r, "postprocess.top_k")


def _record_without_softmax(root: Path) -> None:
    """Training reported raw outputs (apply_softmax false in the training record), the deployed manifest
    applies softmax: rewrite the record as a build with apply_softmax false would have, then re-hash."""
    from edgekit import bundle as B
    from edgekit.parity.reference import write_reference

    m = B.load(root).manifest
    train = m.model_copy(deep=True)
    train.postprocess.apply_softmax = False
    write_reference(root, train)
    rehash(root)


# -- detection (issue 16, item 4): the det bundle (tests/parity/det_bundle.py) ------------------------------


def _det_in_sync(r: ParityReport) -> None:
    in_sync(r)
    assert r.task == "detection" and r.reported_kind == "detections"
    d = r.detection
    assert d is not None and d.status == "pass" and d.items == r.coverage.items, d
    assert d.count_agreement == 1.0 and d.worst_iou is not None and d.worst_iou >= 0.99 and d.decisive > 0, d
    assert d.worst_score_diff is not None and d.worst_score_diff <= 1e-5, d
    assert r.detection_vs_record is not None and r.detection_vs_record.status == "pass"
    bench = r.to_dict()["detection_benchmark"]
    assert bench["count_agreement"] == 1.0 and bench["worst_iou"] >= 0.99 and bench["items"] == c_items(r)


def c_items(r: ParityReport) -> int:
    return r.coverage.items


def _det_post_only(r: ParityReport) -> None:
    """The stages and raw outputs agree; the detections do not."""
    out_of_sync(r)
    assert all(s.status == "pass" for s in r.stages) and all(o.status == "pass" for o in r.outputs)
    assert next(p for p in r.postprocess if p.aspect == "detections").status == "fail"
    assert r.detection is not None and r.detection.items_bad > 0


def _det_cause(step_name: str, *phrases: str, declared: str | None = None) -> Callable[[ParityReport], None]:
    """Detection drift named: the headline step and phrases of its cause; ``declared``: the deployed manifest
    changed that field (the static check says so too), else the manifest is untouched (a device defect)."""

    def expect(r: ParityReport) -> None:
        _det_post_only(r)
        where, cause = headline(r)
        assert where == step_name, (where, cause)
        for ph in phrases:
            assert ph in cause, cause
        chk = next(c for c in r.checks if c.name == "postprocess vs training record")
        if declared is None:
            assert chk.status == "pass", chk
        else:
            assert chk.status == "fail" and declared in chk.detail, chk

    return expect


def _det_within_margin(r: ParityReport) -> None:
    """Threshold 0.3 → 0.33 (inside the 0.05 margin): the boxes that differ are all near the threshold, so the
    box-by-box comparison excuses them — and counts them — while the declaration check still fails."""
    out_of_sync(r)
    d = r.detection
    assert d is not None and d.status == "pass", d
    assert d.excused_near_threshold > 0 and d.count_agreement < 1.0, d
    assert r.to_dict()["detection_benchmark"]["excused_near_threshold"] == d.excused_near_threshold
    where, cause = headline(r)
    assert where == "postprocess" and "score_threshold 0.3 → 0.33" in cause, (where, cause)


def _det_not_verified(r: ParityReport) -> None:
    """No detection above threshold + margin anywhere: the comparison proves nothing, so not verified."""
    assert r.exit_code == 3 and r.verdict == "not verified" and not r.in_sync and not r.drift, r.summary()
    chk = next(c for c in r.checks if c.name == "detections above the score margin")
    assert chk.status == "skip" and "golden set must show objects" in chk.detail
    assert r.detection is not None and r.detection.decisive == 0 and r.detection.status == "pass"
    assert "detections above the score margin skipped" in r.summary()


def _rerecord(root: Path, change: Callable[[dict], None] | None = None) -> None:
    """Edit the manifest, then record the reference again as a build with that manifest would have."""
    from edgekit import bundle as B
    from edgekit.parity.reference import write_reference

    raw = json.loads((root / B.MANIFEST).read_text())
    if change is not None:
        change(raw)
    m = B.Manifest.model_validate(raw)
    write_reference(root, m)
    B.write_manifest(root, m)


def _blank_golden(root: Path) -> None:
    """Flat grey golden photos: nothing to detect on either side (recorded again, as a build would)."""
    import cv2

    for p in (root / "golden").glob("*.jpg"):
        cv2.imwrite(str(p), np.full((120, 160, 3), 114, np.uint8))
    _rerecord(root)


def _all_near_threshold(root: Path) -> None:
    """Threshold 0.97 with margin 0.05 in training and deployment: every detection lies within the margin."""
    _rerecord(root, lambda raw: raw["postprocess"].update(score_threshold=0.97))


def _device(bug: str) -> Callable[[Path], Path]:
    from tests.parity.det_device import det_device

    return lambda tmp: det_device(tmp, bug)


DET_CASES = [
    Case("clean_det", "det", _det_in_sync, runtimes=("ort", "torch")),
    Case("clean_det_device", "det", _det_in_sync, runtimes=("cpp",), binary=_device("none"),
         needs_cpp_build=False),
    # the deployed manifest's detection postprocess changed (the ort side applies it, as a device would)
    Case("det_score_threshold_changed", "det",
         _det_cause("postprocess.score_threshold", "score threshold changed", "≥ 0.6 (training 0.3)",
                    declared="score_threshold 0.3 → 0.6"), _post(score_threshold=0.6), ("ort",)),
    Case("det_nms_iou_changed", "det",
         _det_cause("postprocess.nms_iou", "NMS IoU threshold changed", "IoU 0.2 (training 0.5)",
                    declared="nms_iou 0.5 → 0.2"), _post(nms_iou=0.2), ("ort",)),
    Case("det_coordinates_input", "det",
         _det_cause("postprocess.coordinates", "letterbox inverse not applied", "network-input pixels",
                    declared="coordinates original → input"), _post(coordinates="input"), ("ort",)),
    Case("det_background_class_mismatch", "det",
         _det_cause("postprocess.background_class", "class index offset: background_class False → True",
                    declared="background_class False → True"), _post(background_class=True), ("ort",)),
    Case("det_threshold_within_margin", "det", _det_within_margin, _post(score_threshold=0.33), ("ort",)),
    # device defects (the manifest is untouched): the stand-in edgekit-infer of tests/parity/det_device.py
    Case("det_device_xywh_boxes", "det",
         _det_cause("postprocess.box_format", "reports boxes as xywh ([x, y, w, h])", "xyxy"),
         runtimes=("cpp",), binary=_device("xywh"), needs_cpp_build=False),
    Case("det_device_letterbox_inverse_not_applied", "det",
         _det_cause("postprocess.coordinates", "letterbox inverse not applied"),
         runtimes=("cpp",), binary=_device("no_inverse"), needs_cpp_build=False),
    Case("det_device_class_index_off_by_one", "det",
         _det_cause("postprocess.class_id", "class index offset", "training's +1"),
         runtimes=("cpp",), binary=_device("class_plus_1"), needs_cpp_build=False),
    Case("det_device_score_threshold", "det",
         _det_cause("postprocess.score_threshold", "score threshold differs", "(training 0.3)"),
         runtimes=("cpp",), binary=_device("threshold_0.6"), needs_cpp_build=False),
    Case("det_device_nms_iou", "det",
         _det_cause("postprocess.nms_iou", "NMS IoU threshold differs", "(training 0.5)"),
         runtimes=("cpp",), binary=_device("nms_0.2"), needs_cpp_build=False),
    # nothing decisive to compare: not verified (exit 3), never "in sync"
    Case("det_nothing_detected", "det", _det_not_verified, _blank_golden, ("ort",), no_drift=True),
    Case("det_every_detection_near_threshold", "det", _det_not_verified, _all_near_threshold, ("ort",),
         no_drift=True),
]  # fmt: skip


CASES = [
    Case("clean_tiny", "tiny", _clean_tiny),
    Case("clean_int8_cpu", "tiny", _clean_int8, runtimes=NO_TORCH, model="student_int8_cpu"),
    Case("clean_color_fp32", "color", _clean_color, model="student_fp32"),
    Case("clean_color_int8_qdq", "color", _clean_color, model="student_int8_qdq"),
    Case("clean_fake_quant_torch_agrees_with_ort_qdq", "color", _fake_quant_agrees, runtimes=("ort",),
         model="student_int8_qdq"),  # fmt: skip
    Case("equivalent_declaration_is_not_drift", "color", _equivalent, _step("cvt_color", code="RGB2BGR"),
         NO_TORCH),
    # preprocessing
    Case("mean_changed", "tiny", _mean, _step("normalize", mean=[0.5])),
    Case("std_changed_color", "color", _std, _step("normalize", std=[0.5, 0.5, 0.5])),
    Case("rgb_bgr_swapped", "color", _rgb_bgr, _drop_cvt),
    Case("resize_interpolation_changed", "color", _interp, _step("resize", interpolation="area")),
    Case("input_size_changed", "tiny", _input_size, _grow_resize),
    Case("crop_size_changed_color", "color", _crop_size, _grow_crop),  # global pooling: the model still runs
    Case("nhwc_instead_of_nchw", "tiny", _nhwc_expect, _nhwc),
    Case("missing_1_over_255_scale", "tiny", _scale, _step("to_float", scale=1.0)),
    # model
    Case("different_model_file", "tiny", _model, _other_onnx_weights, NO_TORCH),
    Case("different_torch_model", "tiny", _torch_model, _other_torch_model, ("torch",)),
    # the same model file computed by other kernels (another CPU architecture / ORT build): not another model
    Case("other_kernels_same_model_file", "tiny", _side_kernels, runtimes=("cpp",), model="student_int8_cpu",
         binary=_kernel_wrapper),
    Case("record_from_another_cpu", "tiny", _record_kernels, _record_from_another_cpu, NO_TORCH,
         model="student_int8_cpu"),
    # postprocess: labels, softmax, top-k (what the device reports)
    Case("label_order_shuffled", "tiny", _label_order, _labels(lambda ls: ls[::-1])),
    Case("label_renamed", "tiny", _label_renamed, _labels(lambda ls: [x.replace("3", "three") for x in ls])),
    Case("label_order_color", "color", _label_order, _labels(lambda ls: ls[1:] + ls[:1])),
    Case("softmax_off", "tiny", _softmax_off, _post(apply_softmax=False)),
    Case("softmax_on_where_training_had_none", "tiny", _softmax_on, _record_without_softmax, NO_TORCH),
    Case("top_k_changed", "tiny", _top_k, _post(top_k=3)),
    Case("softmax_off_and_top_k_1", "tiny", _issue_example, _post(apply_softmax=False, top_k=1)),
    *DET_CASES,
]  # fmt: skip


def _runtime_param(case: Case, rt: str):  # type: ignore[no-untyped-def]
    marks = []
    if rt == "cpp" and case.needs_cpp_build:
        marks = [
            pytest.mark.cpp,
            pytest.mark.skipif(CPP_BINARY is None, reason="edgekit-infer is not built (cpp_runtime/build)"),
        ]
    return pytest.param(case, rt, id=f"{case.id}-{rt}", marks=marks)


def params(runtimes: tuple[str, ...] | None = None):  # type: ignore[no-untyped-def]
    """(case, runtime) pairs: every case on its runtimes (or on those of ``runtimes`` it names)."""
    return [_runtime_param(c, rt) for c in CASES for rt in c.runtimes if runtimes is None or rt in runtimes]


def binary_for(case: Case, request: pytest.FixtureRequest) -> Path | None:
    return None if case.binary is None else case.binary(request.getfixturevalue("tmp_path"))


def bundle_for(case: Case, request: pytest.FixtureRequest) -> Path:
    if case.edit is None:
        return request.getfixturevalue(f"{case.bundle}_bundle_session")
    root = request.getfixturevalue(f"{case.bundle}_bundle_copy")
    case.edit(root)
    return root
