"""Detection benchmark: mAP@0.5 and mAP@0.5:0.95 on the held-out split for the teacher, the student and both
INT8 flavours, from one `edgekit build` of a detection project.

    python -m edgekit.bench.detection --config PROJECT/edgekit.yaml [--device cpu] [--fast] --json OUT.json
    python -m edgekit.bench.detection --example digits-detection --fast --json OUT.json

The figures are the build's own: every ONNX model of the bundle is evaluated in ONNX Runtime on the held-out
split by the task's metric (pycocotools COCOeval on the decoded detections, network-input pixels), and the
manifest keeps them (``models[].metrics``: ``accuracy`` = mAP@0.5:0.95, ``map50``). The ``cpu`` profile builds
all four models (teacher_fp32, student_fp32, student_int8_qdq = the TensorRT-flavour Q/DQ model run in ORT,
student_int8_cpu = ORT's QLinearConv INT8). Prints a table and writes the JSON (temporary file, renamed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROLES = {"teacher_fp32": "teacher FP32", "student_fp32": "student FP32",
         "student_int8_qdq": "student INT8 (trt_qdq, in ORT)", "student_int8_cpu": "student INT8 (ort_cpu)"}


def run(config: Path | None, example: str | None, device: str, fast: bool,
        out: Path | None) -> dict[str, Any]:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from edgekit import bundle as B
    from edgekit.build import BuildOptions, run_build
    from edgekit.stages.progress import Reporter

    with tempfile.TemporaryDirectory(prefix="edgekit-detbench-") as tmp:
        bundle = out or Path(tmp) / "bundle"
        opts = BuildOptions(device=device, example=example or "digits-detection", project=config, out=bundle,
                            fast=fast, parity=False, report=False, reuse=False)
        t0 = time.perf_counter()
        res = run_build(opts, Reporter())
        seconds = time.perf_counter() - t0
        m = B.load(res.out, verify=True).manifest
    if m.task != "detection":
        raise SystemExit(f"error: {m.name} is a {m.task} bundle — fix: pass a detection project")
    b = m.build
    models = {e.id: {"map50_95": e.metrics.get("accuracy"), "map50": e.metrics.get("map50"),
                     "precision": e.precision, "int8_flavour": e.int8_flavour} for e in m.models}
    return {
        "project": b.project if b else m.name, "device": m.device, "fast": fast,
        "data": b.data.model_dump() if b and b.data else None,
        "metric": "COCO mAP (pycocotools COCOeval bbox), held-out split, network-input pixels",
        "models": models,
        "stages": [{"stage": s.stage, "model": s.model_id, "map50_95": s.accuracy}
                   for s in (b.stages if b else [])],
        "build_seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, help="a detection project's edgekit.yaml")
    ap.add_argument("--example", help="a built-in detection project (default digits-detection)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--out", type=Path, help="keep the bundle here")
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args(argv)
    rep = run(a.config, a.example, a.device, a.fast, a.out)
    print(f"{rep['project']} on {rep['device']} (data: {rep['data']})")
    print(f"{'model':34s} {'mAP@0.5':>9s} {'mAP@0.5:0.95':>13s}")
    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:.4f}"

    for mid, v in rep["models"].items():
        print(f"{ROLES.get(mid, mid):34s} {fmt(v['map50']):>9s} {fmt(v['map50_95']):>13s}")
    if a.json:
        tmp = a.json.with_name(a.json.name + ".tmp")
        tmp.write_text(json.dumps(rep, indent=2) + "\n")
        tmp.replace(a.json)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
