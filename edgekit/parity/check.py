"""``run_parity``: run the golden set through the runtime under test; compare it with the training record."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from edgekit import bundle as B
from edgekit.detect.postprocess import detect
from edgekit.errors import EdgekitError
from edgekit.parity import compare, localize, ort_session, static_checks
from edgekit.parity.executor import Executor, LocalExecutor, remote_executor
from edgekit.parity.reference import Reference, host_signature, load_reference
from edgekit.parity.report import (
    Check,
    DetectionSummary,
    Diagnosis,
    OutputRow,
    ParityReport,
    PostRow,
    StageRow,
)
from edgekit.parity.runners import ItemResult, Progress, SideResult, run_cpp_side, run_python_side
from edgekit.parity.tolerances import (
    DET_SAME_OUTPUT,
    OUTPUT_TOL,
    DetectionTolerance,
    OutputTolerance,
    detection_tolerance_vs_record,
    output_tolerance,
    step_atol,
)
from edgekit.postprocess import TopK, classify

RUNTIMES = ("cpp", "ort", "torch")
CHECK_STEP = {  # failed static check -> the step named in the headline when no numeric diagnosis exists
    "manifest vs model": "manifest",
    "preprocessing": "preprocessing",
    "input vs": "manifest",
    "labels": "labels",
    "postprocess": "postprocess",
    "model file": "model",
    "golden": "golden",
    "reference torch vs ORT": "int8",
}


def _raw_tol(ref: Reference, precision: str) -> OutputTolerance:
    """The output tolerance; for a detector's raw map top-1/top-k do not apply (its boxes are compared box by
    box after the postprocess), so only max |d| and cosine decide."""
    tol = output_tolerance(precision)
    if ref.task == "detection":
        return replace(tol, min_top1=0.0, min_topk=0.0)
    return tol


def _norm_params(ref: Reference) -> tuple[list[float], list[float]] | None:
    for s in ref.raw["preprocess"]["steps"]:
        if s["op"] == "normalize":
            return s["mean"], s["std"]
    return None


def _compare_stages(ref: Reference, side: SideResult, report: ParityReport) -> dict[str, int]:
    """Fill the stage rows and diagnoses (and ``coverage.stages``: the items whose stages were compared);
    return item -> index of its first diverging reference stage."""
    steps = ref.raw["preprocess"]["steps"]
    names = ref.raw["stage_names"]
    layout = ref.input.get("layout", "NCHW")
    norm = _norm_params(ref)
    geom = [i for i, s in enumerate(steps) if s["op"] in ("resize", "center_crop")]
    last_geom = geom[-1] if geom else 0
    worst: dict[str, float] = defaultdict(float)
    bad: Counter[str] = Counter()
    compared: Counter[str] = Counter()
    got_name: dict[str, str | None] = {}
    extra_seen: set[str] = set()
    first: dict[str, int] = {}
    causes: dict[tuple[int, str, str], list[str]] = defaultdict(list)
    for it in ref.items:
        name = it["name"]
        res = side.items.get(name)
        if res is None or not res.stages:
            continue
        rst = ref.stages(name)
        al = compare.align(names, list(res.stages))
        extra_seen.update(al.extra)
        prev_ok = True
        for i, (rn, gn) in enumerate(al.pairs):
            got_name.setdefault(rn, gn)
            if gn is None:
                bad[rn] += 1
                if prev_ok:
                    first.setdefault(name, i)
                    nxt = next(((r2, g2) for r2, g2 in al.pairs[i + 1 :] if g2 is not None), None)
                    desc = ", ".join(f"{k} {v}" for k, v in steps[i].items() if k != "op")
                    why = f"{compare.op_of(rn)} ({desc}) is missing on the deployed side"
                    if nxt is not None and nxt[0] in rst:
                        r2, g2 = nxt
                        atol2 = step_atol(compare.op_of(r2), steps[compare.index_of(r2)])
                        if not compare.diff(rst[r2], res.stages[g2], atol2).ok:  # the effect, measured
                            sub = localize.diagnose_pair(
                                r2, rst[r2], res.stages[g2], atol2, rst.get(rn), None, layout, norm
                            )
                            sub = sub.split(": ", 1)[1] if sub.startswith(compare.op_of(r2) + ":") else sub
                            why += f" → {sub} (seen at the deployed step {g2})"
                    causes[(i, rn, why)].append(name)
                    prev_ok = False
                continue
            ref_t = rst[rn]
            got_t = res.stages[gn]
            atol = step_atol(compare.op_of(rn), steps[i] if i < len(steps) else None)
            d = compare.diff(ref_t, got_t, atol)
            compared[rn] += 1
            worst[rn] = max(worst[rn], d.max_abs)
            if not d.ok:
                bad[rn] += 1
                if prev_ok:
                    first.setdefault(name, i)
                    prev = rst.get(names[i - 1]) if i > 0 else None
                    why = localize.diagnose_pair(
                        rn, ref_t, got_t, atol, prev, steps[i], layout, norm, final_size=i >= last_geom
                    )
                    extra = [e for e in al.extra if compare.index_of(e) <= compare.index_of(gn)]
                    if extra:
                        why = f"deployed side has extra step(s) {extra} → {why}"
                    causes[(i, rn, why)].append(name)
                    prev_ok = False
    n_items = sum(
        1 for it in ref.items if side.items.get(it["name"]) is not None and side.items[it["name"]].stages
    )
    report.coverage.stages = n_items
    for i, rn in enumerate(names):
        gn = got_name.get(rn)
        if n_items == 0:
            status = "skip"
        elif gn is None:
            status = "missing"
        else:
            status = "fail" if bad[rn] else "pass"
        report.stages.append(
            StageRow(
                rn,
                gn,
                step_atol(compare.op_of(rn), ref.raw["preprocess"]["steps"][i]),
                worst[rn] if compared[rn] else None,
                bad[rn],
                n_items,
                status,
            )
        )
    for e in sorted(extra_seen):
        report.stages.append(StageRow("-", e, 0.0, None, n_items, n_items, "fail" if n_items else "skip"))
    for (_i, rn, why), its in sorted(causes.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        report.diagnoses.append(Diagnosis(step=rn, cause=why, items=len(its), evidence=f"items {its[:5]}"))
    if first:
        report.first_divergence = names[min(first.values())]
    return first


def _ref_outputs(ref: Reference, model_id: str, runtime: str) -> tuple[str, dict[str, np.ndarray] | None]:
    if runtime == "torch":
        t = ref.model_outputs(model_id, "torch")
        if t is not None:
            return "torch", t
    return "ort", ref.model_outputs(model_id, "ort")


def _compare_outputs(
    ref: Reference,
    side: SideResult,
    model_id: str,
    precision: str,
    diverged: dict[str, int],
    report: ParityReport,
) -> tuple[str, int] | None:
    """Output rows (and ``coverage.outputs``): the side's outputs against the recorded ones, on every item
    the side produced outputs for. No reference outputs, or no item with outputs, is "not compared" (never
    a pass). Returns the metrics (text, item count) on the items whose stages all match when the outputs
    differ there, else None."""
    same_input: tuple[str, int] | None = None
    against, ref_out = _ref_outputs(ref, model_id, side.runtime)
    tol = _raw_tol(ref, precision)
    k = int(ref.raw.get("top_k", 5))
    names = [it["name"] for it in ref.items]
    if not ref_out:
        why = ref.models.get(model_id, {}).get("ort_error", "not recorded")
        report.checks.append(
            Check("outputs", "skip", f"no reference outputs for '{model_id}': {why}", required=True)
        )
        return None
    ok_idx = [
        i
        for i, n in enumerate(names)
        if n in side.items and not side.items[n].error and side.items[n].outputs
    ]
    if not ok_idx:
        report.outputs.append(
            OutputRow("*", against, precision, float("inf"), 0.0, 0.0, tol.min_cosine, 0.0, tol.min_top1,
                      0.0, tol.min_topk, k, "skip", 0, len(names))
        )  # fmt: skip
        return None
    compared = True
    for oname, rarr in ref_out.items():
        got_opt = [side.items[names[i]].outputs.get(oname) for i in ok_idx]
        got = [x for x in got_opt if x is not None]
        if len(got) != len(got_opt):
            have = sorted(side.items[names[ok_idx[0]]].outputs)
            report.checks.append(
                Check(f"output {oname}", "fail", f"the runtime produced no '{oname}' (has {have})")
            )
            compared = False
            continue
        r = rarr[ok_idx]
        g = np.concatenate([x.reshape(1, -1) for x in got], axis=0)
        if g.shape[1] != r.reshape(len(ok_idx), -1).shape[1]:
            report.checks.append(
                Check(
                    f"output {oname}", "fail", f"shape {list(got[0].shape)}, reference {list(rarr.shape[1:])}"
                )
            )
            compared = False
            continue
        mt = compare.output_metrics(r, g, k, tol)
        report.outputs.append(
            OutputRow(oname, against, precision, mt.max_abs, mt.max_abs_limit, mt.min_cosine, tol.min_cosine,
                      mt.top1, tol.min_top1, mt.topk, tol.min_topk, mt.k, "pass" if mt.ok else "fail",
                      len(ok_idx), len(names))
        )  # fmt: skip
        # identical input (all stages matched) but outputs off: evidence for the model hypothesis, decided
        # with the model file's hash and the model-on-recorded-input check (_model_hypothesis)
        same_in = [i for i in ok_idx if names[i] not in diverged]
        if not mt.ok and same_in and same_input is None:
            mt2 = compare.output_metrics(
                rarr[same_in],
                np.concatenate([side.items[names[i]].outputs[oname].reshape(1, -1) for i in same_in]),
                k,
                tol,
            )
            if not mt2.ok:
                same_input = (
                    f"{oname}: max |d| {mt2.max_abs:.3g} (limit {mt2.max_abs_limit:.3g}), cosine "
                    f"{mt2.min_cosine:.5f}, top-1 {mt2.top1:.0%} on {len(same_in)} items whose stages all "
                    "match",
                    len(same_in),
                )
    if compared:
        report.coverage.outputs = len(ok_idx)
    return same_input


SCORE_ATOL, SCORE_RTOL = 1e-6, 1e-5  # the same scores through float32 softmax in C++ and numpy: ~1e-7


def _first_output(ref: Reference, r: ItemResult) -> np.ndarray | None:
    name = ref.outputs[0]["name"] if ref.outputs else None
    if name in r.outputs:
        return r.outputs[name]
    return None


def _compare_postprocess(
    ref: Reference, side: SideResult, model_id: str, precision: str, report: ParityReport
) -> None:
    """What the side reports (top-k classes, scores, labels) against (a) the training postprocess applied to
    the side's own outputs — this isolates the postprocess step — and (b) what training reported for the
    same item (the record's ``.post.npz``), within the precision's output tolerance. Fills the postprocess
    rows, their diagnoses and ``coverage.postprocess``."""
    train = ref.classification()
    recorded = ref.model_post(model_id)
    if recorded is not None and ref.model_outputs(model_id, "post") is None:
        report.notes.append(
            "the record (version 1) holds no postprocessed outputs: training's top-k was derived from its "
            "recorded outputs and postprocess declaration"
        )
    tol = output_tolerance(precision)
    ref_ort = ref.model_outputs(model_id, "ort")
    absmax = max((float(np.abs(v).max()) for v in (ref_ort or {}).values() if v.size), default=1.0)
    logit_lim = tol.max_abs_limit(absmax)
    rec_atol = (0.5 * logit_lim if train.apply_softmax else logit_lim) + SCORE_ATOL  # softmax: Lipschitz 1/2
    bad: dict[str, list[str]] = {a: [] for a in ("top_k", "scores", "labels", "vs training record")}
    first_bad: dict[str, tuple[str, list[TopK], list[TopK], np.ndarray]] = {}
    shown: dict[int, str] = {}
    n = 0
    n_rec = 0
    top1 = []
    overlap = []
    for j, it in enumerate(ref.items):
        name = it["name"]
        r = side.items.get(name)
        if r is None or r.error or not r.top:
            continue
        row = _first_output(ref, r)
        if row is None:
            continue
        expected = classify(row, train, ref.labels)[0]
        d = compare.reported(expected, r.top, SCORE_ATOL, SCORE_RTOL)
        n += 1
        for t in r.top:
            shown.setdefault(t.index, t.label)
        for aspect, ok in (
            ("top_k", d.same_k and d.same_indices),
            ("scores", d.scores_ok),
            ("labels", d.labels_ok),
        ):
            if not ok:
                bad[aspect].append(name)
                first_bad.setdefault(aspect, (name, expected, r.top, row))
        if recorded is not None:
            d2 = compare.reported(recorded[j], r.top, rec_atol, 0.0)
            n_rec += 1
            top1.append(d2.same_top1)
            overlap.append(d2.overlap)
            if not (d2.same_k and d2.labels_ok and (d2.scores_ok or not d2.same_top1)):
                bad["vs training record"].append(name)
    if n == 0:
        report.postprocess.append(
            PostRow("*", 0, 0, "skip", f"{side.runtime} reported no top-k for any golden item")
        )
        return
    details = {
        "top_k": f"top_k {train.top_k} (training), classes in the training postprocess's order",
        "scores": f"{'softmax' if train.apply_softmax else 'raw'} scores of the side's own outputs, "
        f"±{SCORE_ATOL:g} + {SCORE_RTOL:g}·|score|",
        "labels": f"the training label for each class index ({len(ref.labels)} labels)",
    }
    for aspect in ("top_k", "scores", "labels"):
        report.postprocess.append(
            PostRow(aspect, len(bad[aspect]), n, "fail" if bad[aspect] else "pass", details[aspect])
        )
    if recorded is None:
        report.postprocess.append(
            PostRow("vs training record", 0, 0, "skip", "the record holds no postprocessed outputs")
        )
    else:
        t1 = float(np.mean(top1)) if top1 else 0.0
        ov = float(np.mean(overlap)) if overlap else 0.0
        agg_ok = t1 >= tol.min_top1 and ov >= tol.min_topk
        report.postprocess.append(
            PostRow(
                "vs training record",
                len(bad["vs training record"]),
                n_rec,
                "pass" if agg_ok and not bad["vs training record"] else "fail",
                f"top-1 {t1:.1%} (≥{tol.min_top1:.0%}), top-k overlap {ov:.1%} (≥{tol.min_topk:.0%}), "
                f"top-1 score ±{rec_atol:.3g} ({precision})",
            )
        )
        if n_rec == n:
            report.coverage.postprocess = n
    if "scores" in first_bad:
        item, _exp, got, row = first_bad["scores"]
        where, cause = localize.diagnose_scores(got, row, train.apply_softmax)
        shown_top = [(t.label or t.index, round(t.score, 4)) for t in got[:3]]
        ev = f"item {item}: reported {shown_top}"
        kind = side.items[item].score_kind
        if kind:
            ev += f"; {side.runtime} says its scores are {kind!r}"
        report.diagnoses.append(Diagnosis(where, cause, len(bad["scores"]), ev))
    if "top_k" in first_bad:
        item, exp, got, _row = first_bad["top_k"]
        ev = f"item {item}: reported classes {[t.index for t in got]}, training {[t.index for t in exp]}"
        cause = localize.diagnose_top_k(exp, got, train.top_k)
        report.diagnoses.append(Diagnosis("postprocess.top_k", cause, len(bad["top_k"]), ev))
    if "labels" in first_bad:
        cause, ev = localize.diagnose_labels(shown, ref.labels, side.labels)
        report.diagnoses.append(Diagnosis("postprocess.labels", cause, len(bad["labels"]), ev))
    explained = any(d.step in localize.MODEL_STEPS for d in report.diagnoses)
    if bad["vs training record"] and not first_bad and not explained:
        cause = (
            "the reported top-k differs from the training record while the postprocess matches training: "
            "the model outputs differ"
        )
        its = bad["vs training record"]
        report.diagnoses.append(Diagnosis("outputs", cause, len(its), f"items {its[:5]}"))


def _summary(
    against: str,
    diffs: list[compare.DetectionDiff],
    total: int,
    tol: DetectionTolerance,
    train: B.DetectionPostprocess,
    bad: int,
) -> DetectionSummary:
    ious = [d.worst_iou for d in diffs if d.worst_iou is not None]
    scs = [d.worst_score for d in diffs if d.worst_score is not None]
    n = len(diffs)
    return DetectionSummary(
        against=against, items=n, items_total=total, items_bad=bad,
        count_agreement=sum(1 for d in diffs if d.n_expected == d.n_got) / n if n else 0.0,
        worst_iou=min(ious) if ious else None, worst_score_diff=max(scs) if scs else None,
        excused_near_threshold=sum(d.excused for d in diffs), expected=sum(d.n_expected for d in diffs),
        reported=sum(d.n_got for d in diffs), matched=sum(len(d.pairs) for d in diffs),
        decisive=sum(d.decisive for d in diffs), min_iou=tol.min_iou, score_atol=tol.score_atol,
        score_rtol=tol.score_rtol, score_threshold=train.score_threshold, score_margin=train.score_margin,
        status="skip" if n == 0 else ("fail" if bad else "pass"),
    )  # fmt: skip


def _compare_detections(
    ref: Reference, bundle: B.Bundle, side: SideResult, model_id: str, precision: str, report: ParityReport
) -> None:
    """A detector's reported detections, box by box: (a) against the TRAINING postprocess applied in Python
    to the side's own raw outputs (given the same raw output, C++ and Python must agree: this isolates the
    postprocess; the report's ``detection``, the issue's benchmark), and (b) against the detections recorded
    at build time (``vs training record``, within the precision's tolerance). Also the labels shown and the
    decoded image size. Detections within ``score_margin`` of the threshold that only one side reports are
    excused and counted. No detection above the margin over the whole golden set is "not verified"."""
    report.task = "detection"
    train = ref.detection()
    dep = bundle.manifest.postprocess  # another task altogether is the static check's failure
    deployed = dep if isinstance(dep, B.DetectionPostprocess) else train
    thr, margin = train.score_threshold, train.score_margin
    recorded = ref.model_detections(model_id)
    ref_ort = ref.model_outputs(model_id, "ort")
    absmax = max((float(np.abs(v).max()) for v in (ref_ort or {}).values() if v.size), default=1.0)
    rec_tol = detection_tolerance_vs_record(precision, output_tolerance(precision).max_abs_limit(absmax),
                                            train.score_activation == "sigmoid")  # fmt: skip
    same: list[compare.DetectionDiff] = []
    vs_rec: list[compare.DetectionDiff] = []
    bad: dict[str, list[str]] = {a: [] for a in ("detections", "labels", "image size", "vs training record")}
    failing: list[localize.DetItem] = []
    shown: dict[int, str] = {}
    n = 0
    for j, it in enumerate(ref.items):
        name = it["name"]
        r = side.items.get(name)
        if r is None or r.error or r.detections is None:
            continue
        row = _first_output(ref, r)
        if row is None:
            continue
        rec_hw = ref.image_size(it)
        hw = r.image_size or rec_hw
        if hw is None:
            continue
        n += 1
        if rec_hw is not None and tuple(hw) != tuple(rec_hw):
            bad["image size"].append(name)
        try:
            expected = detect(row, train, ref.labels, ref.spec, [hw])[0]
        except ValueError as exc:
            report.checks.append(Check("detections", "fail", f"the training postprocess cannot decode "
                                       f"{side.runtime}'s output of {name}: {exc}"))  # fmt: skip
            bad["detections"].append(name)
            continue
        d = compare.detections(expected, r.detections, DET_SAME_OUTPUT, thr, margin)
        same.append(d)
        for g in r.detections:
            shown.setdefault(g.class_id, g.label)
        if not (d.boxes_ok and d.scores_ok and d.count_ok):
            bad["detections"].append(name)
            failing.append(localize.DetItem(name, row, (int(hw[0]), int(hw[1])), expected, r.detections))
        if not d.labels_ok:
            bad["labels"].append(name)
        if recorded is not None:
            d2 = compare.detections(recorded[j], r.detections, rec_tol, thr, margin)
            vs_rec.append(d2)
            if not d2.ok:
                bad["vs training record"].append(name)
    total = len(ref.items)
    if n == 0:
        report.postprocess.append(
            PostRow("*", 0, 0, "skip", f"{side.runtime} reported no detections for any golden item")
        )
        return
    s_same = _summary("same raw output", same, total, DET_SAME_OUTPUT, train, len(bad["detections"]))
    report.detection = s_same
    report.postprocess.append(PostRow(
        "detections", len(bad["detections"]), n, "fail" if bad["detections"] else "pass",
        f"the training postprocess applied to the side's own raw outputs: count agreement "
        f"{s_same.count_agreement:.1%}, worst IoU {_f(s_same.worst_iou)} (≥{DET_SAME_OUTPUT.min_iou:g}), "
        f"worst |d score| {_f(s_same.worst_score_diff)}, {s_same.excused_near_threshold} excused within "
        f"±{margin:g} of the threshold {thr:g}"))  # fmt: skip
    report.postprocess.append(
        PostRow(
            "labels",
            len(bad["labels"]),
            n,
            "fail" if bad["labels"] else "pass",
            f"the training label for each class id ({len(ref.labels)} labels)",
        )
    )
    report.postprocess.append(
        PostRow(
            "image size",
            len(bad["image size"]),
            n,
            "fail" if bad["image size"] else "pass",
            "the decoded image size the boxes map back to, vs the record",
        )
    )
    if recorded is None:
        report.postprocess.append(
            PostRow("vs training record", 0, 0, "skip", "the record holds no detections for this model")
        )
    else:
        s_rec = _summary("training record", vs_rec, total, rec_tol, train, len(bad["vs training record"]))
        report.detection_vs_record = s_rec
        report.postprocess.append(PostRow(
            "vs training record", s_rec.items_bad, s_rec.items, s_rec.status,
            f"the recorded Python detections ({precision}): count agreement {s_rec.count_agreement:.1%}, "
            f"worst IoU {_f(s_rec.worst_iou)} (≥{rec_tol.min_iou:g}), "
            f"worst |d score| {_f(s_rec.worst_score_diff)} (≤{rec_tol.score_atol:.3g})"))  # fmt: skip
        if s_rec.items == n:
            report.coverage.postprocess = n
    rows_ok = all(p.status == "pass" for p in report.postprocess)
    if rows_ok and s_same.decisive == 0:  # all excused, or nothing detected anywhere: proves nothing
        report.checks.append(Check(
            "detections above the score margin", "skip",
            f"no detection scored above {thr:g} + {margin:g} on any of the {n} golden items "
            f"({s_same.excused_near_threshold} excused near the threshold, {s_same.matched} matched): the "
            "golden set must show objects the model detects clearly", required=True))  # fmt: skip
    if failing:
        step, cause = localize.diagnose_detections(failing, train, deployed, ref.spec, ref.labels,
                                                   DET_SAME_OUTPUT)  # fmt: skip
        ex = failing[0]
        ev = (f"item {ex.name}: training postprocess {len(ex.expected)} detections, {side.runtime} reported "
              f"{len(ex.got)}")  # fmt: skip
        if ex.got:
            g = ex.got[0]
            ev += (
                f"; first reported {g.label or g.class_id} {[round(v, 1) for v in g.box]} score {g.score:.3f}"
            )
        report.diagnoses.append(Diagnosis(step, cause, len(failing), ev))
    if bad["labels"]:
        cause, ev = localize.diagnose_labels(shown, ref.labels, side.labels)
        report.diagnoses.append(Diagnosis("postprocess.labels", cause, len(bad["labels"]), ev))
    if bad["image size"]:
        its = bad["image size"]
        report.diagnoses.append(
            Diagnosis(
                "decode",
                "the decoded image size differs from the record's, so the "
                "boxes map back to another image size",
                len(its),
                f"items {its[:5]}",
            )
        )
    explained = any(d.step in localize.MODEL_STEPS for d in report.diagnoses)
    if bad["vs training record"] and not failing and not bad["labels"] and not explained:
        its = bad["vs training record"]
        report.diagnoses.append(Diagnosis(
            "outputs", "the reported detections differ from the training record while the postprocess "
            "matches training: the model outputs differ", len(its), f"items {its[:5]}"))  # fmt: skip


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


def _reference_consistency(ref: Reference, report: ParityReport) -> None:
    """The INT8 check (and its FP32 twin): PyTorch (fake-quant) vs ONNX Runtime inside the training record.
    It decides the verdict for the model under test; for the bundle's other models it is a warning."""
    for mid, info in ref.models.items():
        t = ref.model_outputs(mid, "torch")
        o = ref.model_outputs(mid, "ort")
        if t is None or o is None:
            if o is not None:
                report.notes.append(
                    f"torch side skipped for {mid}: no PyTorch model was given when the "
                    "reference was recorded"
                )
            continue
        tol = _raw_tol(ref, info.get("precision", "fp32"))
        k = int(ref.raw.get("top_k", 5))
        name = next(iter(o), None)
        if name is None:
            report.checks.append(Check(f"reference torch vs ORT ({mid})", "fail", "no ORT output recorded"))
            continue
        if name not in t:
            report.checks.append(
                Check(f"reference torch vs ORT ({mid})", "fail", f"torch has no output {name}")
            )
            continue
        # For a Q/DQ model the check compares fake-quant torch with the Q/DQ graph's own semantics (ORT with
        # graph optimizations off); ORT's fused integer kernels round differently and are shown beside it.
        exact = ref.model_outputs(mid, "ort_exact")
        basis = exact if exact is not None and name in exact else o
        mt = compare.output_metrics(basis[name], t[name], k, tol)
        top1_ok = mt.top1 >= tol.min_top1 if ref.task == "classification" else mt.min_cosine >= tol.min_cosine
        status = "pass" if (top1_ok if info.get("precision") == "int8" else mt.ok) else "fail"
        if status == "fail" and mid != report.model:
            status = "warn"  # shown, but it is another model's problem, not this runtime's
        detail = (
            f"top-1 agreement {mt.top1:.1%} (≥{tol.min_top1:.0%}), max |d| {mt.max_abs:.3g}, "
            f"cosine {mt.min_cosine:.5f} on {mt.n} golden items"
        )
        if ref.task == "detection":  # no top-1 in a raw detection map: its boxes are compared after decoding
            detail = (
                f"max |d| {mt.max_abs:.3g} (≤{mt.max_abs_limit:.3g}), cosine {mt.min_cosine:.5f} "
                f"(≥{tol.min_cosine:g}) on {mt.n} golden items (raw detection map)"
            )
        if basis is exact:
            fused = compare.output_metrics(o[name], t[name], k, tol)
            detail += (
                f" (ORT as written; with ORT's fused integer kernels: top-1 {fused.top1:.1%}, "
                f"max |d| {fused.max_abs:.3g})"
            )
        name_ = f"reference torch vs ORT ({mid}, {info.get('precision')})"
        report.checks.append(Check(name_, status, detail))


def _model_file_check(
    bundle: B.Bundle, ref: Reference, model_id: str, precision: str, report: ParityReport
) -> str:
    """Feed the recorded (training-side) input tensors to the bundle's current model file with ONNX Runtime:
    tells a changed model apart from changed preprocessing whatever the runtime under test. Returns the
    check's outcome: "pass", "fail" or "skip". With the same sha256 as the record the file IS the recorded
    one, so a failure here only says ONNX Runtime on this host computes differently from the one that made
    the record: the check then warns (the side under test's own outputs decide the verdict)."""
    path = bundle.model_path(model_id)
    o = ref.model_outputs(model_id, "ort")
    if path.suffix != ".onnx" or o is None or not path.is_file():
        why = "not ONNX" if path.suffix != ".onnx" else ("no reference outputs" if o is None else "missing")
        report.checks.append(Check("model file on training input", "skip", f"{path.name}: {why}"))
        return "skip"
    last = ref.raw["stage_names"][-1]
    try:
        sess = ort_session.session(path)
        outs = [ort_session.run(sess, ref.stages(it["name"])[last]) for it in ref.items]
    except Exception as exc:  # noqa: BLE001 - e.g. the model wants another input shape
        report.checks.append(Check("model file on training input", "fail", str(exc).splitlines()[0][:200]))
        return "fail"
    name = next(iter(o))
    got = (
        np.concatenate([x[name].reshape(1, -1) for x in outs if name in x])
        if all(name in x for x in outs)
        else None
    )
    if got is None:
        report.checks.append(Check("model file on training input", "fail", f"no output {name}"))
        return "fail"
    mt = compare.output_metrics(o[name], got, int(ref.raw.get("top_k", 5)), _raw_tol(ref, precision))
    detail = (
        f"ORT on {path.name} with the recorded input tensors: max |d| {mt.max_abs:.3g}, "
        f"cosine {mt.min_cosine:.5f}, top-1 {mt.top1:.0%}"
    )
    status = "pass" if mt.ok else "fail"
    if not mt.ok and _sha256_status(report) == "same":
        status = "warn"
        detail += (
            f" — the file is the recorded one (same sha256): ONNX Runtime here ({host_signature()}) computes "
            f"differently from the one that made the record ({ref.recorded_on or 'not recorded'})"
        )
    report.checks.append(Check("model file on training input", status, detail))
    return "pass" if mt.ok else "fail"


def _sha256_status(report: ParityReport) -> str:
    """The model file against the record's hash: "same", "different" or "unknown" (none recorded)."""
    c = next((c for c in report.checks if c.name == "model file vs training record"), None)
    if c is None or c.status == "skip":
        return "unknown"
    return "same" if c.status == "pass" else "different"


def _model_hypothesis(
    report: ParityReport,
    ref: Reference,
    entry: B.ModelEntry,
    bundle: B.Bundle,
    same_input: tuple[str, int] | None,
    on_record: str,
    infer_args: list[str] | None,
) -> None:
    """The one place the model hypothesis is decided (localize.diagnose_model): another model file, or the
    same file with the same input computed differently by the runtime (kernels, EP, CPU architecture)."""
    args = list(infer_args or [])
    backend = args[args.index("--backend") + 1] if "--backend" in args[:-1] else "ort"
    ev = localize.ModelEvidence(
        runtime=report.runtime,
        model_file=bundle.model_path(entry.id).name,
        sha256=_sha256_status(report),
        on_record=on_record,
        same_input=same_input[0] if same_input else None,
        same_input_items=same_input[1] if same_input else len(ref.items),
        precision=report.precision,
        int8_flavour=entry.int8_flavour,
        backend=backend,
        recorded_on=ref.recorded_on,
        here=host_signature() if report.runtime != "cpp" else "",
    )
    mc = localize.diagnose_model(ev)
    if mc is not None:
        evidence = mc.evidence
        if report.runtime == "cpp":
            evidence += f"; the side under test: {report.where}"
        report.diagnoses.append(Diagnosis(mc.step, mc.cause, mc.items, evidence, mc.fix))


def _device_engine_args(
    ex: Executor, bundle: B.Bundle, model_id: str, report: ParityReport, precision: str | None
) -> list[str] | None:
    """``--backend trt`` when the device holds this model's TensorRT engine (built by ``edgekit flash``):
    parity then checks the engine the device runs, not ONNX Runtime."""
    from edgekit.flash.tensorrt import device_engine

    remote, bundle_path = getattr(ex, "remote", None), getattr(ex, "bundle_path", None)
    if remote is None or bundle_path is None:
        return None
    found = device_engine(remote, bundle_path(bundle.root), bundle, model_id)
    if found is None:
        return None
    report.precision = precision or found[1] or report.precision
    report.notes.append(
        f"the device has the TensorRT engine {found[0]}: checked with edgekit-infer --backend trt"
    )
    return ["--backend", "trt"]


def run_parity(
    bundle_path: str | Path,
    runtime: str = "cpp",
    model: str | None = None,
    host: str | None = None,
    executor: Executor | None = None,
    binary: str | Path | None = None,
    progress: Progress | None = None,
    host_options: dict[str, object] | None = None,
    infer_args: list[str] | None = None,
    precision: str | None = None,
) -> ParityReport:
    """Compare the runtime under test with the bundle's training-time golden reference.

    ``runtime``: ``cpp`` (``edgekit-infer``, locally or through ``executor``/``host``), ``ort`` or ``torch``
    (the deployed manifest interpreted in Python). ``host_options`` go to the SSH transport (port, identity,
    known_hosts, remote_dir); ``infer_args`` are extra ``edgekit-infer`` arguments (``--backend trt``);
    ``precision`` overrides the model's precision for the output tolerances (e.g. ``fp16`` for an FP16
    TensorRT engine built from an FP32 ONNX). Raises EdgekitError for unusable inputs (exit 2); the
    verdict is the report's (``ParityReport.decide``: 0 in sync, 1 NOT in sync, 3 not verified)."""
    if precision is not None and precision not in OUTPUT_TOL:
        raise EdgekitError(f"unknown precision '{precision}'", f"use one of {', '.join(OUTPUT_TOL)}")
    if runtime not in RUNTIMES:
        raise EdgekitError(f"unknown runtime '{runtime}'", f"use one of {', '.join(RUNTIMES)}")
    bundle = B.load(bundle_path)
    ref = load_reference(bundle.root)
    entry = bundle.manifest.model(model)
    report = ParityReport(
        bundle=str(bundle.root),
        runtime=runtime,
        where="",
        model=entry.id,
        precision=precision or entry.precision,
        task=ref.task,
    )
    report.checks += static_checks.manifest_vs_model(bundle, entry.id)
    report.checks += static_checks.manifest_vs_record(bundle, ref, entry.id)
    _reference_consistency(ref, report)
    if runtime == "cpp":
        if executor is not None:
            ex = executor
        elif host:
            ex = remote_executor(host, bundle.root, **(host_options or {}))
        else:
            ex = LocalExecutor(binary)
        if infer_args is None and host:
            infer_args = _device_engine_args(ex, bundle, entry.id, report, precision)
        try:
            side = run_cpp_side(bundle, entry.id, ex, progress=progress, extra_args=infer_args)
        finally:
            close = getattr(ex, "close", None)
            if executor is None and callable(close):
                close()
    else:
        side = run_python_side(bundle, entry.id, runtime, progress=progress)
    report.where = side.where
    report.coverage.items = len(ref.items)
    rec_names = [it["name"] for it in ref.items]
    report.coverage.ran = sum(
        1 for n in rec_names if n in side.items and not side.items[n].error and side.items[n].outputs
    )
    errors = {n: side.items[n].error for n in rec_names if n in side.items and side.items[n].error}
    stage_side = side
    if runtime == "cpp" and not any(r.stages for r in side.items.values()):
        # edgekit-infer refused to run at all (it checks the manifest against the model before any image):
        # localize with the Python interpretation of the same deployed manifest, and say so. These rows are
        # evidence about the manifest, not about the C++ runtime: they never make cpp "in sync".
        err = next((r.error for r in side.items.values() if r.error), "no stage dumps")
        stage_side = run_python_side(bundle, entry.id, "ort")
        report.stage_source = "the Python interpretation of the deployed manifest (ort)"
        report.notes.append(
            f"edgekit-infer produced no stage dumps ({err}); the stage rows and their diagnosis come "
            "from the Python interpretation of the deployed manifest"
        )
    diverged = _compare_stages(ref, stage_side, report)
    if stage_side is not side:
        report.coverage.stages = 0  # nothing of the side under test was compared
        for d in report.diagnoses:
            note = "from the Python interpretation (cpp ran no image)"
            d.evidence = f"{d.evidence}; {note}" if d.evidence else note
    if (
        not diverged
        and report.stages
        and all(r.status == "pass" for r in report.stages)
        and all(stage_side.items.get(n) is not None and stage_side.items[n].stages for n in rec_names)
    ):
        for c in report.checks:  # a declaration that differs but computes the same tensors is not drift
            if c.name == "preprocessing vs training record" and c.status == "fail":
                c.status = "warn"
                c.detail += " (numerically identical on every golden item)"
    same_input = _compare_outputs(ref, side, entry.id, report.precision, diverged, report)
    on_record = _model_file_check(bundle, ref, entry.id, entry.precision, report)
    _model_hypothesis(report, ref, entry, bundle, same_input, on_record, infer_args)
    if ref.task == "detection":
        _compare_detections(ref, bundle, side, entry.id, report.precision, report)
    else:
        _compare_postprocess(ref, side, entry.id, report.precision, report)
    missing = [n for n in rec_names if n not in side.items]
    if missing:
        errors.update({n: "not run (not in the deployed manifest's golden list)" for n in missing})
    report.decide()
    if report.drift and not report.diagnoses:
        failed = [c for c in report.checks if c.status == "fail"]
        if failed:
            c = failed[0]
            where = next((v for k, v in CHECK_STEP.items() if c.name.startswith(k)), "manifest")
            cause = f"{c.name}: {c.detail}"
            if where == "int8" and ", int8)" not in c.name:
                where, cause = "export", f"PyTorch and ONNX Runtime disagree on the export: {c.detail}"
            elif where == "int8":
                cause = f"fake-quant PyTorch and ONNX Runtime disagree on the INT8 model: {c.detail}"
            report.diagnoses.append(Diagnosis(where, cause, 0))
    if errors:  # last: a failed item is "not compared", the measured causes above come first
        msg = Counter(errors.values()).most_common(1)[0][0]
        report.diagnoses.append(
            Diagnosis(
                "runtime",
                f"{side.runtime} failed on {len(errors)}/{len(rec_names)} golden items: {msg}",
                len(errors),
                f"items {sorted(errors)[:5]}",
            )
        )
    return report
