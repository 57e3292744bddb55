"""Localization: at the first stage where the sides disagree, test hypotheses numerically and name the most
likely cause. Each hypothesis is a transformation of the training-side tensor (or a re-run of the step on
the training side's previous stage) that, if it reproduces the deployed tensor, explains the difference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from edgekit.bundle import DetectionPostprocess
from edgekit.detect.postprocess import Detection, detect
from edgekit.parity import compare
from edgekit.parity.compare import op_of
from edgekit.parity.tolerances import DetectionTolerance
from edgekit.postprocess import TopK, softmax
from edgekit.preprocess.spec import PreprocessSpec

INTERPS = {
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "nearest": cv2.INTER_NEAREST,
    "linear_exact": cv2.INTER_LINEAR_EXACT,
    "cubic": cv2.INTER_CUBIC,
    "lanczos4": cv2.INTER_LANCZOS4,
}

COLOR_CODES = {
    "BGR2RGB": cv2.COLOR_BGR2RGB,
    "BGR2GRAY": cv2.COLOR_BGR2GRAY,
    "RGB2GRAY": cv2.COLOR_RGB2GRAY,
    "GRAY2BGR": cv2.COLOR_GRAY2BGR,
}


def _hw(a: np.ndarray, channel_axis: int) -> tuple[int, int]:
    if a.ndim == 3:
        return a.shape[0], a.shape[1]
    if a.ndim == 4:
        return (a.shape[2], a.shape[3]) if channel_axis == 1 else (a.shape[1], a.shape[2])
    return (0, 0)


def _close(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    return compare.close(a, b, atol)  # the one comparison core (looked up at call time)


def channel_axis(a: np.ndarray, ref_layout: str) -> int:
    if a.ndim == 3:
        return 2
    return 1 if ref_layout == "NCHW" else 3


def _shape_cause(ref: np.ndarray, got: np.ndarray, ax: int, atol: float, op: str, final_size: bool) -> str:
    if ref.ndim == 4 and got.ndim == 4:
        for perm, tag in (
            ((0, 3, 1, 2), "NHWC vs NCHW: the deployed tensor is NHWC, training used NCHW"),
            ((0, 2, 3, 1), "NCHW vs NHWC: the deployed tensor is NCHW, training used NHWC"),
        ):
            t = got.transpose(perm)
            if t.shape == ref.shape and _close(ref, t, atol):
                return f"layout: {tag}"
    if ref.ndim == got.ndim and ref.ndim in (3, 4):
        rc, gc = ref.shape[ax], got.shape[ax]
        (rh, rw), (gh, gw) = _hw(ref, ax), _hw(got, ax)
        if (rh, rw) != (gh, gw) and rc == gc:
            if op == "decode":
                return f"decode: image size changed {rh}x{rw} → {gh}x{gw} (another golden image file)"
            if not final_size:  # a later resize/crop may still produce the model's input size
                return f"{op}: output size changed {rh}x{rw} → {gh}x{gw} (the step's mode or size differs)"
            return f"input size changed {rh}x{rw} → {gh}x{gw}"
        if rc != gc and (rh, rw) == (gh, gw):
            return f"channel count changed {rc} → {gc} (gray vs color decode or cvt_color)"
    return f"tensor shape changed {list(ref.shape)} → {list(got.shape)}"


def _affine_fit(ref: np.ndarray, got: np.ndarray, ax: int) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Per-channel least squares ``got ≈ a * ref + b``; returns a, b and the worst residual relative to the
    deployed tensor's range, or None when there is nothing to fit."""
    r = np.moveaxis(ref.astype(np.float64), ax, -1).reshape(-1, ref.shape[ax])
    g = np.moveaxis(got.astype(np.float64), ax, -1).reshape(-1, got.shape[ax])
    if r.shape[0] < 2 or not np.isfinite(g).all():
        return None
    a = np.ones(r.shape[1])
    b = np.zeros(r.shape[1])
    for c in range(r.shape[1]):
        var = r[:, c].var()
        if var > 1e-12:
            a[c] = ((r[:, c] - r[:, c].mean()) * (g[:, c] - g[:, c].mean())).mean() / var
        b[c] = g[:, c].mean() - a[c] * r[:, c].mean()
    resid = np.abs(g - (r * a + b)).max()
    span = max(float(g.max() - g.min()), 1e-12)
    return a, b, float(resid / span)


def _fmt(v: np.ndarray | list[float]) -> str:
    return "[" + ", ".join(f"{x:.4g}" for x in v) + "]"


def _affine_cause(op: str, a: np.ndarray, b: np.ndarray, norm: tuple[list[float], list[float]] | None) -> str:
    if np.allclose(a, 255.0, rtol=1e-3) and np.allclose(b, 0.0, atol=1e-2):
        return f"{op}: values ×255 — missing 1/255 scale"
    if np.allclose(a, 1 / 255.0, rtol=1e-3) and np.allclose(b, 0.0, atol=1e-4):
        return f"{op}: values ÷255 — the 1/255 scale is applied twice"
    if np.allclose(b, 0.0, atol=1e-4) and np.allclose(a, a[0], rtol=1e-4) and op == "to_float":
        return f"{op}: values ×{a[0]:.6g} — the to_float scale differs"
    if norm is not None and op in ("normalize", "layout"):
        m, s = (np.resize(np.asarray(v, np.float64), a.shape) for v in norm)
        s_dep = s / a
        m_dep = m - b * s_dep
        parts = []
        if not np.allclose(a, 1.0, rtol=1e-4):
            parts.append(
                f"per-channel scale ≈ std mismatch (deployed std ≈ {_fmt(s_dep)}, training {_fmt(s)})"
            )
        if not np.allclose(m_dep, m, atol=1e-4):
            parts.append(
                f"per-channel offset ≈ mean mismatch (deployed mean ≈ {_fmt(m_dep)}, training {_fmt(m)})"
            )
        if parts:
            return f"{op}: " + "; ".join(parts)
    if np.allclose(a, 1.0, rtol=1e-4):
        return f"{op}: per-channel offset {_fmt(b)} (an additive shift, e.g. a mean mismatch)"
    return f"{op}: per-channel affine change ×{_fmt(a)} + {_fmt(b)} (scale/offset mismatch)"


def diagnose_pair(
    stage: str,
    ref: np.ndarray,
    got: np.ndarray,
    atol: float,
    ref_prev: np.ndarray | None,
    ref_step: dict | None,
    ref_layout: str,
    norm: tuple[list[float], list[float]] | None,
    final_size: bool = True,
) -> str:
    """Explain why deployed ``got`` differs from training ``ref`` at ``stage`` (whose input, ``ref_prev``,
    agreed). ``ref_step`` is the training-time step, ``norm`` the training (mean, std); ``final_size``: no
    resize/crop follows this step in training (a size change here is the model's input size)."""
    op = op_of(stage)
    ax = channel_axis(ref, ref_layout)
    if ref.shape != got.shape:
        return _shape_cause(ref, got, ax, max(atol, 1e-5), op, final_size)
    if not np.isfinite(got).all():
        return f"{op}: the deployed tensor has NaN/Inf values"
    nch = ref.shape[ax] if ref.ndim in (3, 4) else 0
    if nch == 3 and _close(ref, np.flip(got, axis=ax), max(atol, 1e-5)):
        return f"{op}: channels appear swapped (RGB↔BGR)"
    if op == "cvt_color" and ref_prev is not None and ref.ndim == 3:
        train_code = (ref_step or {}).get("code", "?")
        for cname, cv in COLOR_CODES.items():
            if cname == train_code or (ref_prev.shape[2] == 1) != cname.startswith("GRAY"):
                continue
            conv = cv2.cvtColor(np.ascontiguousarray(ref_prev), cv)
            conv = conv[:, :, None] if conv.ndim == 2 else conv
            if _close(conv, got, atol):
                return f"cvt_color: conversion differs (training {train_code}, deployed matches {cname})"
    if op == "resize" and ref_prev is not None and ref.ndim == 3:
        h, w = ref.shape[:2]
        train_interp = (ref_step or {}).get("interpolation", "?")
        for name, code in INTERPS.items():
            if name == train_interp:
                continue
            for flip in (False, True):
                src = np.flip(ref_prev, axis=2) if flip else ref_prev
                r = cv2.resize(np.ascontiguousarray(src), (w, h), interpolation=code)
                r = r[:, :, None] if r.ndim == 2 else r
                if _close(r, got, max(atol, 0.0)):
                    extra = " and channels swapped (RGB↔BGR)" if flip else ""
                    return (
                        f"resize: interpolation differs (training {train_interp}, deployed matches {name})"
                        + extra
                    )
        return (
            f"resize: values differ (max |d| {np.abs(ref.astype(float) - got).max():g}); not explained by "
            "interpolation or channel order — resize mode or size rounding differs"
        )
    if ref.dtype.kind == "f" or got.dtype.kind == "f":
        fit = _affine_fit(ref, got, ax)
        if fit is not None and fit[2] < 1e-3:
            return _affine_cause(op, fit[0], fit[1], norm)
    if ref.dtype != got.dtype:
        return f"{op}: dtype changed {ref.dtype} → {got.dtype}"
    d = np.abs(ref.astype(np.float64) - got.astype(np.float64))
    if op == "decode":
        frac = np.mean(d > atol)
        return f"decode: decoded pixels differ on {frac:.1%} of values (another image file or decoder)"
    frac = np.mean(d > atol)
    return f"{op}: values differ (max |d| {d.max():g} on {frac:.1%} of values); no simple cause found"


def _scores_at(row: np.ndarray, idx: list[int]) -> np.ndarray:
    flat = np.asarray(row, dtype=np.float32).reshape(-1)
    return np.asarray([flat[i] if 0 <= i < flat.size else np.nan for i in idx], dtype=np.float32)


def diagnose_scores(reported: list[TopK], output_row: np.ndarray, train_softmax: bool) -> tuple[str, str]:
    """Why the reported scores differ from the training postprocess of the same (the side's own) outputs:
    returns (step, cause). Hypotheses: raw logits reported where training applies softmax, and the reverse."""
    idx = [t.index for t in reported]
    got = np.asarray([t.score for t in reported], dtype=np.float32)
    raw = _scores_at(output_row, idx)
    soft = _scores_at(softmax(output_row), idx)
    atol = 1e-5 * max(1.0, float(np.nanmax(np.abs(raw))) if raw.size and np.isfinite(raw).any() else 1.0)
    if train_softmax and compare.close(raw, got, atol):
        return (
            "postprocess.softmax",
            "softmax: the deployed side reports raw logits as scores; training applies softmax "
            "(apply_softmax true)",
        )
    if not train_softmax and compare.close(soft, got, 1e-5):
        return (
            "postprocess.softmax",
            "softmax: the deployed side applies softmax to the scores; training reports the raw outputs "
            "(apply_softmax false)",
        )
    d = np.abs(got.astype(np.float64) - (soft if train_softmax else raw).astype(np.float64))
    return (
        "postprocess.scores",
        f"scores: the reported scores differ from the training postprocess of the same outputs (max |d| "
        f"{float(np.nanmax(d)) if d.size and not np.isnan(d).all() else float('inf'):.3g}); "
        "not explained by softmax on/off",
    )


def diagnose_top_k(expected: list[TopK], reported: list[TopK], train_k: int) -> str:
    if len(expected) != len(reported):
        return (
            f"top_k: the deployed side reports {len(reported)} class{'es' if len(reported) != 1 else ''} per "
            f"item, training reports {len(expected)} (top_k {train_k})"
        )
    return "top_k: the deployed side ranks the classes in another order than the training postprocess"


def diagnose_labels(
    shown: dict[int, str], train_labels: list[str], deployed_labels: list[str]
) -> tuple[str, str]:
    """``shown``: class index -> the label the deployed side showed for it. Returns (cause, evidence)."""

    def train(i: int) -> str:
        return train_labels[i] if 0 <= i < len(train_labels) else ""

    wrong = {i: lab for i, lab in sorted(shown.items()) if train(i) != lab}
    ex = ", ".join(f"{i}: {train(i)!r} → {lab!r}" for i, lab in list(wrong.items())[:4])
    permuted = sorted(deployed_labels) == sorted(train_labels) and deployed_labels != train_labels
    moved = bool(wrong) and all(lab in train_labels for lab in wrong.values())
    if permuted or (moved and len(deployed_labels) == len(train_labels)):
        cause = "labels: order differs from training"
    elif len(deployed_labels) != len(train_labels):
        cause = f"labels: {len(deployed_labels)} labels, training had {len(train_labels)}"
    else:
        cause = "labels: label names differ from training"
    return cause, f"class index: training label → label shown: {ex}"


# -- the model hypothesis: another model file, or the same file computed differently -------------------------

MODEL_STEPS = ("model", "runtime.kernels")  # the steps a model-output diagnosis is filed under


@dataclass(frozen=True)
class ModelEvidence:
    """What parity knows about the model behind differing outputs. ``sha256``: "same", "different" or
    "unknown" (the model file vs the record's hash; unknown when none was recorded). ``on_record``: ONNX
    Runtime here on the bundle's model file fed the recorded input tensors reproduces the recorded outputs:
    "pass", "fail" or "skip". ``same_input``: the output metrics on the items whose stages all match, when
    they fail there (None: the outputs agree where the input agrees, or no item has an identical input)."""

    runtime: str  # the side under test: cpp, ort or torch
    model_file: str
    sha256: str
    on_record: str
    same_input: str | None
    same_input_items: int
    precision: str
    int8_flavour: str | None = None
    backend: str = "ort"  # edgekit-infer's backend (cpp only)
    recorded_on: str = ""  # "x86_64 (avx2), onnxruntime 1.31.1" when the record says
    here: str = ""  # the same for this host


@dataclass(frozen=True)
class ModelCause:
    step: str
    cause: str
    items: int
    evidence: str
    fix: str = ""


DIFFERENT_MODEL = "outputs differ with identical input → different model file"


def _kernels(ev: ModelEvidence) -> str:
    if ev.runtime == "cpp" and ev.backend == "trt":
        return "TensorRT's kernels, precision and tactics differ from the ONNX Runtime CPU run of the record"
    if ev.precision == "int8" and ev.int8_flavour == "ort_cpu":
        return (
            "ONNX Runtime's INT8 integer kernels (QLinearConv, MatMulInteger) differ between CPU "
            "architectures and ORT builds (x86 AVX2 / AVX-512 VNNI vs ARM NEON)"
        )
    if ev.precision == "int8":
        return (
            "the Q/DQ graph fused into INT8 integer kernels rounds differently between CPU architectures, "
            "execution providers and ORT builds (x86 AVX2 / AVX-512 VNNI vs ARM NEON)"
        )
    return (
        f"{ev.precision} kernels differ (execution provider, CPU architecture or ORT build: summation order, "
        "FMA, vector width)"
    )


def _fix(ev: ModelEvidence) -> str:
    fix = (
        "record the reference on the target architecture (build the bundle, or at least its golden "
        "reference, with the ORT build and CPU that run the model)"
    )
    if ev.precision == "int8":
        fix += (
            ", or compare the Q/DQ model as written (ONNX Runtime with graph optimizations off: its float "
            "semantics do not depend on the CPU's integer kernels)"
        )
        if ev.int8_flavour == "ort_cpu":
            fix += " — a QOperator model like this one has no float form: check the bundle's Q/DQ model"
    return fix + "; the tolerances are not loosened: this is a real difference"


def diagnose_model(ev: ModelEvidence) -> ModelCause | None:
    """Decide the model hypothesis from the evidence. "different model file" only when the hash, or the model
    file fed the recorded input, shows another model; the same file with the same input computing other
    outputs is the runtime's kernels (execution provider, CPU architecture, ORT build)."""
    rec = f"; the record was made on {ev.recorded_on}" if ev.recorded_on else ""
    here = f"; this host: {ev.here}" if ev.here else ""
    shown_other = (ev.sha256 == "different" and ev.on_record != "pass") or (
        ev.sha256 == "unknown" and ev.on_record == "fail"
    )
    if shown_other:
        why = (
            f"{ev.model_file}: sha256 differs from the record"
            if ev.sha256 == "different"
            else f"{ev.model_file}: no sha256 recorded"
        )
        if ev.on_record == "fail":
            why += "; fed the recorded input tensors it does not reproduce the recorded outputs"
        ev_txt = f"{ev.same_input}; {why}" if ev.same_input else why
        fix = "rebuild the bundle (edgekit build) so the model and its reference match"
        return ModelCause("model", DIFFERENT_MODEL, ev.same_input_items, ev_txt, fix)
    if ev.same_input is None:
        return None  # the outputs agree wherever the input does (or no item had an identical input)
    if ev.runtime == "torch":  # the torch side runs reference/<id>.pt2, whose hash is not recorded
        return ModelCause(
            "model",
            f"{DIFFERENT_MODEL} (the PyTorch reference model; no sha256 of it is recorded)",
            ev.same_input_items,
            ev.same_input,
            "rebuild the bundle (edgekit build) so the PyTorch reference model and the record match",
        )
    if ev.sha256 == "unknown" and ev.on_record != "pass":
        return ModelCause(
            "model",
            "outputs differ with identical input: another model file or a runtime that computes differently "
            f"(no sha256 of {ev.model_file} is recorded to tell them apart)",
            ev.same_input_items,
            ev.same_input,
            "rebuild the bundle (edgekit build) to record the model's hash and outputs again",
        )
    same = "same model file" if ev.sha256 == "same" else "a model file that computes the recorded outputs"
    if ev.on_record == "fail":  # same file, but ONNX Runtime here does not reproduce the record either
        cause = (
            f"{same} and same input: the runtime computes differently — ONNX Runtime on this host does not "
            f"reproduce the record either, so the record was made by another ORT build/CPU; {_kernels(ev)}"
        )
    else:
        cause = f"{same} and same input: the runtime computes differently — {_kernels(ev)}"
    facts = [ev.same_input]
    if ev.sha256 == "same":
        facts.append(f"{ev.model_file}: same sha256 as the record")
    elif ev.sha256 == "different":
        facts.append(f"{ev.model_file}: sha256 differs, but it reproduces the recorded outputs here")
    if ev.on_record == "pass":
        facts.append("ONNX Runtime here reproduces the recorded outputs from the recorded input")
    return ModelCause("runtime.kernels", cause, ev.same_input_items, "; ".join(facts) + rec + here, _fix(ev))


# -- detections: which postprocess step makes the reported boxes differ --------------------------------------


@dataclass(frozen=True)
class DetItem:
    """One golden item whose reported detections differ from the training postprocess of the same raw output:
    the side's raw output (batch first), the decoded image size its boxes map back to, what the training
    postprocess gives for that output (``expected``) and what the side reported (``got``)."""

    name: str
    row: np.ndarray
    image_size: tuple[int, int]
    expected: list[Detection]
    got: list[Detection]


NMS_GRID = tuple(round(0.05 * k, 2) for k in range(2, 21))  # 0.1 .. 1.0


def _field_cause(f: str, t: object, d: object, spec: PreprocessSpec) -> str:
    if f == "score_threshold":
        return f"score threshold changed: the deployed side keeps detections scored ≥ {d} (training {t})"
    if f == "nms_iou":
        return (
            f"NMS IoU threshold changed: the deployed side suppresses overlaps above IoU {d} (training {t})"
        )
    if f == "box_format":
        return f"box encoding mismatch: the deployed side decodes the box channels as {d} (training {t})"
    if f == "coordinates":
        return _coords_cause(spec, str(t))
    if f == "background_class":
        return f"class index offset: background_class {t} → {d} (the deployed side " + (
            "drops class 0 as the background)"
            if d
            else "reports class 0, training skips it as the background)"
        )
    return f"{f} changed: training {t} → deployed {d}"


def _coords_cause(spec: PreprocessSpec, train_coords: str) -> str:
    geo = (
        "letterbox"
        if any(s.op == "resize" and getattr(s, "mode", "") == "letterbox" for s in spec.steps)
        else ("preprocessing geometry")
    )
    if train_coords == "original":
        return (
            f"{geo} inverse not applied: the deployed boxes are in network-input pixels, training maps them "
            "back to the original image (coordinates: original)"
        )
    return (
        f"the deployed side maps the boxes back through the {geo} inverse; training reports network-input "
        "pixels (coordinates: input)"
    )


def diagnose_detections(
    items: list[DetItem],
    train: DetectionPostprocess,
    deployed: DetectionPostprocess,
    spec: PreprocessSpec,
    labels: list[str],
    tol: DetectionTolerance,
) -> tuple[str, str]:
    """Name the postprocess step that explains every differing item: returns (step, cause). Each hypothesis
    re-runs the Python postprocess with one thing changed (a field of the deployed declaration, the
    coordinates, the box format, the class index, the score or NMS threshold, max_detections), or reads the
    reported boxes another way, and must reproduce what the side reported on every differing item."""
    thr, margin = train.score_threshold, train.score_margin

    def same(alt: list[Detection], got: list[Detection]) -> bool:
        return compare.detections(alt, got, tol, thr, margin).ok

    def rerun(post: DetectionPostprocess) -> bool:
        try:
            return all(same(detect(it.row, post, labels, spec, [it.image_size])[0], it.got) for it in items)
        except ValueError:
            return False

    def reread(f: Callable[[Detection], Detection]) -> bool:
        return all(same(it.expected, [f(g) for g in it.got]) for it in items)

    t_d, d_d = train.model_dump(), deployed.model_dump()
    for f in (k for k in t_d if k not in ("labels_file", "score_margin", "type") and t_d[k] != d_d.get(k)):
        if rerun(train.model_copy(update={f: d_d[f]})):
            return f"postprocess.{f}", _field_cause(f, t_d[f], d_d[f], spec)
    xyxy: dict[str, Callable[[Detection], Detection]] = {
        "xywh": lambda g: replace(g, box=(g.box[0], g.box[1], g.box[0] + g.box[2], g.box[1] + g.box[3])),
        "cxcywh": lambda g: replace(
            g,
            box=(
                g.box[0] - g.box[2] / 2,
                g.box[1] - g.box[3] / 2,
                g.box[0] + g.box[2] / 2,
                g.box[1] + g.box[3] / 2,
            ),
        ),
    }
    for fmt, conv in xyxy.items():
        if reread(conv):
            return (
                "postprocess.box_format",
                f"box format mismatch: the deployed side reports boxes as "
                f"{fmt} ([{', '.join(fmt_fields(fmt))}]), training reports xyxy ([x1, y1, x2, y2])",
            )
    if train.encoding == "anchor_free_grid":
        other = "xyxy" if train.box_format == "cxcywh" else "cxcywh"
        if rerun(train.model_copy(update={"box_format": other})):
            return (
                "postprocess.box_format",
                f"box encoding mismatch: the deployed side decodes the box "
                f"channels as {other}, training as {train.box_format}",
            )
    other_c = "input" if train.coordinates == "original" else "original"
    if rerun(train.model_copy(update={"coordinates": other_c})):
        return "postprocess.coordinates", _coords_cause(spec, train.coordinates)
    for k in (1, -1, 2, -2):

        def shift(g: Detection, k: int = k) -> Detection:
            c = g.class_id - k
            return replace(g, class_id=c, label=labels[c] if 0 <= c < len(labels) else g.label)

        if reread(shift):
            return (
                "postprocess.class_id",
                f"class index offset: the deployed class ids are training's "
                f"{k:+d} (off by {abs(k)}; label list or background_class mismatch)",
            )
    if rerun(train.model_copy(update={"background_class": not train.background_class})):
        return "postprocess.background_class", _field_cause(
            "background_class", train.background_class, not train.background_class, spec
        )
    n_max = max((len(it.got) for it in items), default=0)
    capped = all(len(it.got) == n_max < len(it.expected) for it in items)  # a cap's signature: one count
    if (
        capped
        and 0 < n_max < train.max_detections
        and rerun(train.model_copy(update={"max_detections": n_max}))
    ):
        return (
            "postprocess.max_detections",
            f"max_detections differs: the deployed side keeps at most {n_max} "
            f"(training {train.max_detections})",
        )
    scores = [g.score for it in items for g in it.got if np.isfinite(g.score)]
    cands = [min(scores)] if scores else []
    exp_scores = [e.score for it in items for e in it.expected]
    if not scores and exp_scores:
        cands.append(float(np.nextafter(np.float32(max(exp_scores)), np.float32(2.0))))
    for t in cands:
        if 0.0 <= t <= 1.0 and abs(t - thr) > 1e-9 and rerun(train.model_copy(update={"score_threshold": t})):
            return (
                "postprocess.score_threshold",
                f"score threshold differs: the deployed detections are "
                f"reproduced with score_threshold {'≈' if scores else '>'} {t:.4g} (training {thr})",
            )
    hits = [
        v
        for v in NMS_GRID
        if abs(v - train.nms_iou) > 1e-9 and rerun(train.model_copy(update={"nms_iou": v}))
    ]
    if hits:
        return (
            "postprocess.nms_iou",
            f"NMS IoU threshold differs: the deployed detections are reproduced "
            f"with nms_iou in [{min(hits):g}, {max(hits):g}] (training {train.nms_iou})",
        )
    d = [compare.detections(it.expected, it.got, tol, thr, margin) for it in items]
    ious = [x.worst_iou for x in d if x.worst_iou is not None]
    return (
        "postprocess.detections",
        f"the reported detections differ from the training postprocess of the "
        f"same raw outputs ({sum(len(x.missing) for x in d)} missing, {sum(len(x.extra) for x in d)} extra, "
        f"worst IoU {min(ious) if ious else float('nan'):.3g}); not explained by a threshold, NMS, box "
        "format, coordinates or class index change",
    )


def fmt_fields(fmt: str) -> list[str]:
    return ["x", "y", "w", "h"] if fmt == "xywh" else ["cx", "cy", "w", "h"]
