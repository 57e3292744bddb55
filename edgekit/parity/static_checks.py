"""Checks that need no inference: the manifest against the model file and against the training record."""

from __future__ import annotations

import difflib

from edgekit.bundle import Bundle, sha256_file
from edgekit.parity.reference import Reference
from edgekit.parity.report import Check

ONNX_DTYPES = {1: "float32", 10: "float16", 2: "uint8", 3: "int8", 7: "int64"}


def _dims(vi) -> list[int]:  # type: ignore[no-untyped-def]
    return [d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim]


def _same_dims(a: list[int], b: list[int]) -> bool:
    return len(a) == len(b) and all(x == y or x == -1 or y == -1 for x, y in zip(a, b, strict=True))


def manifest_vs_model(bundle: Bundle, model_id: str) -> list[Check]:
    """Input name/shape/dtype, output names and the label count against the ONNX graph itself."""
    import onnx

    m = bundle.manifest
    path = bundle.model_path(model_id)
    if path.suffix != ".onnx":
        return [
            Check(
                "manifest vs model",
                "skip",
                f"{path.name} is not ONNX (TensorRT engines are checked on the device by edgekit-infer)",
            )
        ]
    try:
        g = onnx.load(str(path), load_external_data=False).graph
    except Exception as exc:  # noqa: BLE001 - a corrupt file raises protobuf errors
        return [Check("manifest vs model", "fail", f"{path.name} is not a readable ONNX model: {exc}")]
    inits = {i.name for i in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    out: list[Check] = []
    problems = []
    if len(inputs) != 1:
        problems.append(f"model has {len(inputs)} inputs, the manifest declares one")
    else:
        vi = inputs[0]
        dims = _dims(vi)
        dt = ONNX_DTYPES.get(vi.type.tensor_type.elem_type, str(vi.type.tensor_type.elem_type))
        if vi.name != m.input.name:
            problems.append(f"input name '{m.input.name}' but the model's is '{vi.name}'")
        if not _same_dims(dims, m.input.shape):
            problems.append(f"input shape {m.input.shape} but the model wants {dims}")
        if dt != m.input.dtype:
            problems.append(f"input dtype {m.input.dtype} but the model wants {dt}")
    names = [o.name for o in g.output]
    want = [o.name for o in m.outputs]
    if names != want:
        problems.append(f"output names {want} but the model has {names}")
    labels = bundle.labels()
    if g.output and labels and m.task == "detection":  # [N, 4 + C, ...]: C class channels, one label each
        d1 = _dims(g.output[0])[1:2]
        if d1 and d1[0] > 0 and d1[0] - 4 != len(labels):
            problems.append(f"{len(labels)} labels but the detector has {d1[0] - 4} class channels")
    elif g.output and labels:
        last = _dims(g.output[0])[-1:]
        if last and last[0] > 0 and last[0] != len(labels):
            problems.append(f"{len(labels)} labels but the model has {last[0]} outputs")
    out.append(
        Check(
            "manifest vs model",
            "fail" if problems else "pass",
            "; ".join(problems)
            or f"{path.name}: input {m.input.name} {m.input.shape} {m.input.dtype}, "
            f"outputs {names}, {len(labels)} labels",
        )
    )
    return out


def _step_diff(train: list[dict], dep: list[dict]) -> list[str]:
    """Step-level differences, aligned by op so one removed step is reported once."""
    a = [s.get("op") for s in train]
    b = [s.get("op") for s in dep]
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                x, y = train[i], dep[j]
                keys = [k for k in x if x.get(k) != y.get(k)]
                if keys:
                    out.append(
                        f"step {i} {x['op']}: " + ", ".join(f"{k} {x.get(k)} → {y.get(k)}" for k in keys)
                    )
            continue
        out += [f"step {i} removed: {train[i]}" for i in range(i1, i2)]
        out += [f"step {j} added: {dep[j]}" for j in range(j1, j2)]
    return out


def manifest_vs_record(bundle: Bundle, ref: Reference, model_id: str) -> list[Check]:
    m = bundle.manifest
    checks: list[Check] = []
    train_steps = ref.raw["preprocess"]["steps"]
    dep_steps = m.preprocess.to_json_obj()["steps"]
    diff = _step_diff(train_steps, dep_steps)
    checks.append(
        Check(
            "preprocessing vs training record",
            "fail" if diff else "pass",
            "; ".join(diff) or f"identical (sha256 {ref.raw['preprocess_sha256'][:12]})",
        )
    )
    same_in = ref.input.get("shape") == m.input.shape and ref.input.get("layout") == m.input.layout
    checks.append(
        Check(
            "input vs training record",
            "pass" if same_in else "fail",
            f"training {ref.input.get('shape')} {ref.input.get('layout')}, manifest "
            f"{m.input.shape} {m.input.layout}",
        )
    )
    checks.append(postprocess_vs_record(bundle, ref))
    labels = bundle.labels()
    if not labels and not ref.labels:
        checks.append(Check("labels vs training record", "skip", "no labels in training nor in the bundle"))
    elif labels != ref.labels:
        if sorted(labels) == sorted(ref.labels):
            moved = sum(a != b for a, b in zip(labels, ref.labels, strict=True))
            detail = f"same {len(labels)} labels, {moved} at other positions"
        elif len(labels) != len(ref.labels):
            detail = f"{len(labels)} labels, training had {len(ref.labels)}"
        else:
            detail = (
                "label names differ: "
                + ", ".join(
                    f"{i}: {a!r} → {b!r}"
                    for i, (a, b) in enumerate(zip(ref.labels, labels, strict=True))
                    if a != b
                )[:300]
            )
        checks.append(Check("labels vs training record", "fail", detail))
    else:
        checks.append(Check("labels vs training record", "pass", f"{len(labels)} labels, same order"))
    rec = ref.models.get(model_id)
    mpath = bundle.model_path(model_id)
    if rec is None:
        checks.append(Check("model vs training record", "fail", f"the record has no model '{model_id}'"))
    elif not mpath.is_file():
        checks.append(Check("model file vs training record", "fail", f"{mpath.name} is missing"))
    elif not rec.get("sha256"):
        checks.append(
            Check("model file vs training record", "skip", f"no sha256 recorded for {mpath.name} (not ONNX)")
        )
    else:
        same = sha256_file(mpath) == rec["sha256"]
        checks.append(
            Check(
                "model file vs training record",
                "pass" if same else "fail",
                "same sha256"
                if same
                else f"{mpath.name} differs from the file the reference was recorded with",
            )
        )
    rec_names = [it["name"] for it in ref.items]
    dep_names = [g.name for g in m.golden]
    if set(rec_names) != set(dep_names):
        gone = sorted(set(rec_names) - set(dep_names))
        new = sorted(set(dep_names) - set(rec_names))
        checks.append(
            Check("golden list vs training record", "fail", f"missing: {gone[:8]}; not recorded: {new[:8]}")
        )
    changed = [
        it["name"]
        for it in ref.items
        if not (bundle.root / it["input"]).is_file()
        or sha256_file(bundle.root / it["input"]) != it["input_sha256"]
    ]
    if not ref.items:
        checks.append(Check("golden inputs vs training record", "fail", "the record lists zero golden items"))
    else:
        checks.append(
            Check(
                "golden inputs vs training record",
                "fail" if changed else "pass",
                f"changed or missing: {changed[:8]}" if changed else f"{len(ref.items)} files unchanged",
            )
        )
    return checks


def postprocess_vs_record(bundle: Bundle, ref: Reference) -> Check:
    """The deployed postprocess declaration against training's: softmax, top-k and the task; for a detector
    every field (encoding, thresholds, NMS, background class, coordinates, margin). The labels' content has
    its own check; the labels file's name does not matter."""
    train = ref.postprocess.model_dump()
    dep = bundle.manifest.postprocess.model_dump()
    if train.get("type") == "detection" or dep.get("type") == "detection":
        keys = [k for k in dict.fromkeys([*train, *dep]) if k != "labels_file" and train.get(k) != dep.get(k)]
        shown = ("encoding", "score_threshold", "nms_iou", "max_detections")
        return Check(
            "postprocess vs training record",
            "fail" if keys else "pass",
            ", ".join(f"{k} {train.get(k)} → {dep.get(k)}" for k in keys)
            or ", ".join(f"{k} {train.get(k)}" for k in shown),
        )
    keys = [k for k in ("type", "apply_softmax", "top_k") if train.get(k) != dep.get(k)]
    return Check(
        "postprocess vs training record",
        "fail" if keys else "pass",
        ", ".join(f"{k} {train.get(k)} → {dep.get(k)}" for k in keys)
        or f"apply_softmax {train['apply_softmax']}, top_k {train['top_k']}",
    )
