"""Python onnxruntime latency for the same model/batch/threads as edgekit-bench, for comparison
(run each measurement in its own process). Prints one JSON object with the edgekit-bench keys.

    python cpp_runtime/bench/ort_python_bench.py BUNDLE [--model ID] [--batch N] [--threads N] [--iters N]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import onnxruntime as ort

from edgekit import bundle as B
from edgekit.preprocess import run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("--model")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--iters", type=int, default=100)
    a = ap.parse_args()
    b = B.load(a.bundle)
    entry = b.manifest.model(a.model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    sess = ort.InferenceSession(str(b.path(entry.file)), so, providers=["CPUExecutionProvider"])
    img = b.path(b.manifest.golden[0].input)
    pre = []
    for _ in range(max(a.iters, 10)):
        t0 = time.perf_counter()
        x1, _ = run(b.manifest.preprocess, img)
        pre.append((time.perf_counter() - t0) * 1e3)
    x = np.repeat(x1, a.batch, axis=0)
    feed = {b.manifest.input.name: x}
    for _ in range(a.warmup):
        sess.run(None, feed)
    lat = []
    t_all = time.perf_counter()
    for _ in range(a.iters):
        t0 = time.perf_counter()
        sess.run(None, feed)
        lat.append((time.perf_counter() - t0) * 1e3)
    total = (time.perf_counter() - t_all) * 1e3
    lat_a = np.array(lat)
    doc = {
        "model": entry.id,
        "backend": "python-ort-cpu",
        "batch": a.batch,
        "threads": a.threads,
        "iters": a.iters,
        "p50_ms": float(np.percentile(lat_a, 50, method="inverted_cdf")),
        "p90_ms": float(np.percentile(lat_a, 90, method="inverted_cdf")),
        "p99_ms": float(np.percentile(lat_a, 99, method="inverted_cdf")),
        "mean_ms": float(lat_a.mean()),
        "throughput_ips": 1e3 * a.batch * a.iters / total,
        "preprocess_p50_ms": float(np.median(pre)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "ort_version": ort.__version__,
    }
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
