"""``run_parity``: run the golden set through the runtime under test; compare it with the training record."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from edgekit import bundle as B
from edgekit.errors import EdgekitError
from edgekit.parity import compare, localize, ort_session, static_checks
from edgekit.parity.executor import Executor, LocalExecutor, remote_executor
from edgekit.parity.reference import Reference, load_reference
from edgekit.parity.report import Check, Diagnosis, OutputRow, ParityReport, StageRow
from edgekit.parity.runners import Progress, SideResult, run_cpp_side, run_python_side
from edgekit.parity.tolerances import OUTPUT_TOL, output_tolerance, step_atol

RUNTIMES = ("cpp", "ort", "torch")
CHECK_STEP = {  # failed static check -> the step named in the headline when no numeric diagnosis exists
    "manifest vs model": "manifest",
    "preprocessing": "preprocessing",
    "input vs": "manifest",
    "labels": "labels",
    "model file": "model",
    "golden": "golden",
    "reference torch vs ORT": "int8",
}


def _norm_params(ref: Reference) -> tuple[list[float], list[float]] | None:
    for s in ref.raw["preprocess"]["steps"]:
        if s["op"] == "normalize":
            return s["mean"], s["std"]
    return None


def _compare_stages(ref: Reference, side: SideResult, report: ParityReport) -> dict[str, int]:
    """Fill the stage rows and diagnoses; return item -> index of its first diverging reference stage."""
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
                        sub = localize.diagnose_pair(
                            r2,
                            rst[r2],
                            res.stages[g2],
                            step_atol(compare.op_of(r2), steps[compare.index_of(r2)]),
                            rst.get(rn),
                            None,
                            layout,
                            norm,
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
    n_items = sum(1 for it in ref.items if side.items.get(it["name"]) and side.items[it["name"]].stages)
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
        report.stages.append(StageRow("-", e, 0.0, None, n_items, n_items, "fail"))
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
    bundle: B.Bundle,
    side: SideResult,
    model_id: str,
    precision: str,
    diverged: dict[str, int],
    report: ParityReport,
) -> None:
    against, ref_out = _ref_outputs(ref, model_id, side.runtime)
    if ref_out is None:
        why = ref.models.get(model_id, {}).get("ort_error", "not recorded")
        report.checks.append(Check("outputs", "skip", f"no reference outputs for '{model_id}': {why}"))
        report.notes.append(f"the outputs of {model_id!r} were NOT compared (no reference outputs)")
        return
    tol = output_tolerance(precision)
    k = int(ref.raw.get("top_k", 5))
    names = [it["name"] for it in ref.items]
    errors = {n: side.items[n].error for n in names if n in side.items and side.items[n].error}
    if errors:
        msgs = Counter(errors.values()).most_common(1)[0][0]
        report.diagnoses.append(
            Diagnosis(
                "runtime",
                f"{side.runtime} failed on {len(errors)}/{len(names)} golden items: {msgs}",
                len(errors),
            )
        )
    ok_idx = [
        i
        for i, n in enumerate(names)
        if n in side.items and not side.items[n].error and side.items[n].outputs
    ]
    if not ok_idx:
        report.outputs.append(
            OutputRow(
                "*",
                against,
                precision,
                float("inf"),
                0.0,
                0.0,
                tol.min_cosine,
                0.0,
                tol.min_top1,
                0.0,
                tol.min_topk,
                k,
                "fail",
            )
        )
        return
    out_fail = False
    for oname, rarr in ref_out.items():
        got_opt = [side.items[names[i]].outputs.get(oname) for i in ok_idx]
        got = [x for x in got_opt if x is not None]
        if len(got) != len(got_opt):
            have = sorted(side.items[names[ok_idx[0]]].outputs)
            report.checks.append(
                Check(f"output {oname}", "fail", f"the runtime produced no '{oname}' (has {have})")
            )
            out_fail = True
            continue
        r = rarr[ok_idx]
        g = np.concatenate([x.reshape(1, -1) for x in got], axis=0)
        if g.shape[1] != r.reshape(len(ok_idx), -1).shape[1]:
            report.checks.append(
                Check(
                    f"output {oname}", "fail", f"shape {list(got[0].shape)}, reference {list(rarr.shape[1:])}"
                )
            )
            out_fail = True
            continue
        mt = compare.output_metrics(r, g, k, tol)
        status = "pass" if mt.ok and len(ok_idx) == len(names) else "fail"
        out_fail |= status == "fail"
        report.outputs.append(
            OutputRow(
                oname,
                against,
                precision,
                mt.max_abs,
                mt.max_abs_limit,
                mt.min_cosine,
                tol.min_cosine,
                mt.top1,
                tol.min_top1,
                mt.topk,
                tol.min_topk,
                mt.k,
                status,
            )
        )
        # identical input (all stages matched) but outputs off: the model differs
        same_in = [i for i in ok_idx if names[i] not in diverged]
        if not mt.ok and same_in:
            mt2 = compare.output_metrics(
                rarr[same_in],
                np.concatenate([side.items[names[i]].outputs[oname].reshape(1, -1) for i in same_in]),
                k,
                tol,
            )
            if not mt2.ok:
                report.diagnoses.append(
                    Diagnosis(
                        "model",
                        "outputs differ with identical input → different model file",
                        len(same_in),
                        f"{oname}: max |d| {mt2.max_abs:.3g} (limit {mt2.max_abs_limit:.3g}), cosine "
                        f"{mt2.min_cosine:.5f}, top-1 {mt2.top1:.0%} on {len(same_in)} items whose "
                        "stages all match",
                    )
                )
        # labels: same top-1 index but a different label shown
        if oname == ref.outputs[0]["name"] and ref.labels:
            rtop = r.reshape(len(ok_idx), -1).argmax(1)
            gtop = g.argmax(1)
            wrong = 0
            agree = 0
            for j, i in enumerate(ok_idx):
                tl = side.items[names[i]].top_labels
                if rtop[j] == gtop[j] and tl and rtop[j] < len(ref.labels):
                    agree += 1
                    wrong += tl[0] != ref.labels[rtop[j]]
            if wrong:
                dep = side.labels
                if sorted(dep) == sorted(ref.labels) and dep != ref.labels:
                    cause = "labels: order differs from training"
                elif len(dep) != len(ref.labels):
                    cause = f"labels: {len(dep)} labels, training had {len(ref.labels)}"
                else:
                    cause = "labels: label names differ from training"
                report.diagnoses.append(
                    Diagnosis(
                        "labels",
                        cause,
                        wrong,
                        f"same top-1 class index but another label shown on {wrong}/{agree} items",
                    )
                )
                out_fail = True
    if out_fail:
        report.in_sync = False


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
        tol = output_tolerance(info.get("precision", "fp32"))
        k = int(ref.raw.get("top_k", 5))
        name = next(iter(o))
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
        top1_ok = mt.top1 >= tol.min_top1
        status = "pass" if (top1_ok if info.get("precision") == "int8" else mt.ok) else "fail"
        if status == "fail" and mid != report.model:
            status = "warn"  # shown, but it is another model's problem, not this runtime's
        detail = (
            f"top-1 agreement {mt.top1:.1%} (≥{tol.min_top1:.0%}), max |d| {mt.max_abs:.3g}, "
            f"cosine {mt.min_cosine:.5f} on {mt.n} golden items"
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
) -> None:
    """Feed the recorded (training-side) input tensors to the bundle's current model file with ONNX Runtime:
    tells a changed model apart from changed preprocessing whatever the runtime under test."""
    path = bundle.model_path(model_id)
    o = ref.model_outputs(model_id, "ort")
    if path.suffix != ".onnx" or o is None or not path.is_file():
        return
    last = ref.raw["stage_names"][-1]
    try:
        sess = ort_session.session(path)
        outs = [ort_session.run(sess, ref.stages(it["name"])[last]) for it in ref.items]
    except Exception as exc:  # noqa: BLE001 - e.g. the model wants another input shape
        report.checks.append(Check("model file on training input", "fail", str(exc).splitlines()[0][:200]))
        return
    name = next(iter(o))
    got = (
        np.concatenate([x[name].reshape(1, -1) for x in outs if name in x])
        if all(name in x for x in outs)
        else None
    )
    if got is None:
        report.checks.append(Check("model file on training input", "fail", f"no output {name}"))
        return
    mt = compare.output_metrics(o[name], got, int(ref.raw.get("top_k", 5)), output_tolerance(precision))
    report.checks.append(
        Check(
            "model file on training input",
            "pass" if mt.ok else "fail",
            f"ORT on {path.name} with the recorded input tensors: max |d| {mt.max_abs:.3g}, "
            f"cosine {mt.min_cosine:.5f}, top-1 {mt.top1:.0%}",
        )
    )
    if not mt.ok and not any(d.step == "model" for d in report.diagnoses):
        report.diagnoses.append(
            Diagnosis(
                "model",
                "outputs differ with identical input → different model file",
                len(ref.items),
                "the current model file fed the training-side input "
                "tensors does not reproduce the recorded outputs",
            )
        )


def _device_engine_args(ex: Executor, bundle: B.Bundle, model_id: str, report: ParityReport,
                        precision: str | None) -> list[str] | None:
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
    TensorRT engine built from an FP32 ONNX). Raises EdgekitError for unusable inputs (exit 2); drift is
    reported in the returned report (``exit_code`` 1)."""
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
    stage_side = side
    if runtime == "cpp" and not any(r.stages for r in side.items.values()):
        # edgekit-infer refused to run at all (it checks the manifest against the model before any image):
        # localize with the Python interpretation of the same deployed manifest, and say so.
        err = next((r.error for r in side.items.values() if r.error), "no stage dumps")
        stage_side = run_python_side(bundle, entry.id, "ort")
        report.notes.append(
            f"edgekit-infer produced no stage dumps ({err}); the stage rows and their diagnosis come "
            "from the Python interpretation of the deployed manifest"
        )
    diverged = _compare_stages(ref, stage_side, report)
    if stage_side is not side:
        for d in report.diagnoses:
            note = "from the Python interpretation (cpp ran no image)"
            d.evidence = f"{d.evidence}; {note}" if d.evidence else note
    if diverged:
        report.in_sync = False
    elif report.stages and all(r.status == "pass" for r in report.stages):
        for c in report.checks:  # a declaration that differs but computes the same tensors is not drift
            if c.name == "preprocessing vs training record" and c.status == "fail":
                c.status = "warn"
                c.detail += " (numerically identical on every golden item)"
    _compare_outputs(ref, bundle, side, entry.id, report.precision, diverged, report)
    _model_file_check(bundle, ref, entry.id, entry.precision, report)
    if any(c.status == "fail" for c in report.checks):
        report.in_sync = False
    if any(r.status in ("fail", "missing") for r in report.stages):
        report.in_sync = False
    if not report.in_sync and not report.diagnoses:
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
    return report
