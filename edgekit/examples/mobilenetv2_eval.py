"""Accuracy and top-1 agreement of every model in a MobileNetV2 bundle, in ONNX Runtime.

Labeled: the bundle's golden JPEGs (the 20 foolbox ImageNet photos) decoded and preprocessed through
the bundle's own spec, as the C++ runtime does. Unlabeled: the scikit-image / scikit-learn sample
photos, for top-1 agreement with the FP32 model only. Twenty photos are a smoke test: one photo is
5 points, so a 95 % interval on 17/20 is roughly 62-97 %.

    python -m edgekit.examples.mobilenetv2_eval BUNDLE [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from edgekit import bundle as B
from edgekit.errors import EdgekitError
from edgekit.preprocess import run_batch


def ort_logits(path: Path, x: np.ndarray, batch: int = 32) -> np.ndarray:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i : i + batch]})[0] for i in range(0, len(x), batch)])


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def evaluate_bundle(root: Path, samples: bool = True) -> dict[str, Any]:
    """Per model: top-1/top-5 on the labeled golden photos, top-1 agreement with ``student_fp32``."""
    b = B.load(root)
    m = b.manifest
    labeled = [g for g in m.golden if g.label is not None]
    if not labeled:
        raise EdgekitError(f"bundle {root} has no labeled golden images", "rebuild it with a labeled example")
    x = run_batch(m.preprocess, [b.path(g.input) for g in labeled])
    y = np.array([g.label for g in labeled])
    xs = None
    if samples:
        from edgekit.examples.mobilenetv2 import sample_photos

        xs = run_batch(m.preprocess, list(sample_photos().values()))
    ref_id = "student_fp32" if any(e.id == "student_fp32" for e in m.models) else m.models[0].id
    logits = {e.id: ort_logits(b.path(e.file), x) for e in m.models}
    s_logits = {e.id: ort_logits(b.path(e.file), xs) for e in m.models} if xs is not None else {}
    rows = []
    for e in m.models:
        lg = logits[e.id]
        top1 = int((lg.argmax(1) == y).sum())
        top5 = int((np.argsort(-lg, 1)[:, :5] == y[:, None]).any(1).sum())
        row: dict[str, Any] = {
            "model": e.id, "precision": e.precision, "int8_flavour": e.int8_flavour,
            "bytes": b.path(e.file).stat().st_size, "n": len(y), "top1": top1, "top5": top5,
            "top1_acc": top1 / len(y), "top1_ci95": wilson(top1, len(y)),
            "agree_top1": float((lg.argmax(1) == logits[ref_id].argmax(1)).mean()),
        }
        if s_logits:
            row["agree_top1_samples"] = float((s_logits[e.id].argmax(1) == s_logits[ref_id].argmax(1)).mean())
            row["n_samples"] = len(s_logits[e.id])
        rows.append(row)
    return {"bundle": str(root), "reference": ref_id, "models": rows,
            "note": f"{len(y)} labeled photos: one photo = {100 / len(y):.0f} points; a smoke test, "
                    "not an ImageNet accuracy. INT8 is post-training calibrated only (no offline "
                    "ImageNet training data for QAT)."}


def print_table(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"MobileNetV2 stages: {res['bundle']}",
              caption=f"agree = same top-1 as {res['reference']}. {res['note']}")
    for col in ("model", "flavour", "size", "top-1", "95 % CI", "top-5", "agree", "agree (samples)"):
        t.add_column(col, justify="left" if col in ("model", "flavour") else "right", no_wrap=col == "model")
    for r in res["models"]:
        lo, hi = r["top1_ci95"]
        t.add_row(r["model"], r["int8_flavour"] or r["precision"], f"{r['bytes'] / 2**20:.1f} MiB",
                  f"{r['top1']}/{r['n']}", f"{lo * 100:.0f}-{hi * 100:.0f} %", f"{r['top5']}/{r['n']}",
                  f"{r['agree_top1'] * 100:.0f} %",
                  f"{r['agree_top1_samples'] * 100:.0f} % of {r['n_samples']}" if "n_samples" in r else "-")
    Console().print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--json", action="store_true", help="print JSON on stdout")
    ap.add_argument("--no-samples", action="store_true", help="skip the unlabeled sample photos")
    a = ap.parse_args(argv)
    try:
        res = evaluate_bundle(a.bundle, samples=not a.no_samples)
    except EdgekitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print_table(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
