"""ONNX Runtime CPU latency of a MobileNetV2 bundle's FP32 and INT8 (CPU flavour) models.

Every measurement runs in its own process (one session per process, one intra-op thread, no
spinning), and the models take turns over several rounds, so a busy shared machine hits them alike.
Prints a table and writes JSON: per model and batch, the median over rounds of each round's p50,
the best round's p50, the minimum, and INT8 speed-ups against FP32.

    python -m edgekit.examples.mobilenetv2_bench BUNDLE [--batch 1,32] [--rounds 3] [--out bench.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekit import bundle as B
from edgekit.errors import EdgekitError, InputError
from edgekit.io import atomic_write_json


def _worker(model: str, batch: int, iters: int, warmup: int) -> dict[str, Any]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    x = np.random.default_rng(0).standard_normal((batch, *inp.shape[1:])).astype(np.float32)
    for _ in range(warmup):
        sess.run(None, {inp.name: x})
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        sess.run(None, {inp.name: x})
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "min_ms": float(min(times)), "iters": iters}


def _measure(model: Path, batch: int, iters: int, warmup: int) -> dict[str, Any]:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "edgekit.examples.mobilenetv2_bench", "--worker", str(model),
           "--batch", str(batch), "--iters", str(iters), "--warmup", str(warmup)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise EdgekitError(f"benchmark of {model.name} at batch {batch} failed: {last}",
                           "run the model with onnxruntime by hand to see the whole error")
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_bundle(root: Path, batches: list[int], rounds: int = 3, models: tuple[str, ...] = (
        "student_fp32", "student_int8_cpu"), progress: bool = True) -> dict[str, Any]:
    b = B.load(root)
    ids = [m.id for m in b.manifest.models]
    missing = [m for m in models if m not in ids]
    if missing:
        raise InputError(f"bundle {root} has no model {missing[0]}", f"pick from {ids}")
    raw: dict[str, dict[int, list[dict[str, Any]]]] = {m: {bs: [] for bs in batches} for m in models}
    from rich.progress import Progress

    jobs = [(r, bs, m) for r in range(rounds) for bs in batches for m in models]
    with Progress(disable=not progress, transient=True) as prog:
        task = prog.add_task("benchmark (one process per run)", total=len(jobs))
        for _r, bs, m in jobs:
            iters, warmup = (30, 5) if bs == 1 else (5, 1)
            raw[m][bs].append(_measure(b.model_path(m), bs, iters, warmup))
            prog.advance(task)
    rows = []
    for m in models:
        for bs in batches:
            runs = raw[m][bs]
            rows.append({"model": m, "batch": bs, "rounds": rounds,
                         "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                         "best_p50_ms": min(r["p50_ms"] for r in runs),
                         "min_ms": min(r["min_ms"] for r in runs),
                         "bytes": b.model_path(m).stat().st_size})
    speedups = {}
    by = {(r["model"], r["batch"]): r for r in rows}
    for m in models[1:]:
        for bs in batches:
            f, q = by[(models[0], bs)], by[(m, bs)]
            speedups[f"{m}/b{bs}"] = {k: f[k] / q[k] for k in ("p50_ms", "best_p50_ms", "min_ms")}
    return {"bundle": str(root), "runtime": "onnxruntime (Python), 1 thread, no spinning",
            "load_average": os.getloadavg()[0], "rows": rows, "speedup_vs_fp32": speedups}


def print_table(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"MobileNetV2 ORT CPU latency ({res['runtime']})",
              caption=f"load average at the end: {res['load_average']:.1f} (2 vCPUs): a shared machine; "
                      "compare the best-round column")
    for col in ("model", "batch", "p50 ms (median of rounds)", "best p50 ms", "min ms", "size MiB"):
        t.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    for r in res["rows"]:
        t.add_row(r["model"], str(r["batch"]), f"{r['p50_ms']:.1f}", f"{r['best_p50_ms']:.1f}",
                  f"{r['min_ms']:.1f}", f"{r['bytes'] / 2**20:.1f}")
    c = Console()
    c.print(t)
    for k, v in res["speedup_vs_fp32"].items():
        c.print(f"INT8 speed-up {k}: {v['p50_ms']:.2f}x (p50), {v['best_p50_ms']:.2f}x (best round), "
                f"{v['min_ms']:.2f}x (min)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", nargs="?", type=Path)
    ap.add_argument("--batch", default="1,32")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, help="write the JSON here")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--iters", type=int, default=30, help=argparse.SUPPRESS)
    ap.add_argument("--warmup", type=int, default=5, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(_worker(a.worker, int(a.batch), a.iters, a.warmup)))
        return 0
    if a.bundle is None:
        ap.error("BUNDLE is required")
    try:
        batches = [int(s) for s in a.batch.split(",") if s.strip()]
        if not batches or min(batches) < 1:
            raise ValueError
    except ValueError:
        print(f"error: --batch '{a.batch}' is not a list of positive integers — fix: e.g. --batch 1,32",
              file=sys.stderr)
        return 2
    try:
        res = bench_bundle(a.bundle, batches, a.rounds, progress=not a.json)
    except EdgekitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if a.out:
        atomic_write_json(a.out, res)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print_table(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
