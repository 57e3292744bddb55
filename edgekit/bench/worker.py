"""One measurement, in its own process: ``python -m edgekit.bench.worker JOB_JSON``.

Loads one model in one runtime (ONNX Runtime or the bundle's PyTorch reference), warms up, times ``iters``
runs of one batch, and prints one JSON line: the per-run latencies in ms, the model load time, the
preprocessing time per image (Python interpretation of the bundle's spec, on its golden images) and its own
peak RSS. A fresh process per measurement keeps ONNX Runtime thread pools and allocator state from one
measurement out of the next (see README.md, Development).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402


def vm_hwm_kb(pid: str | int) -> int | None:
    """Peak RSS of this process image (VmHWM). Unlike ru_maxrss it does not inherit the parent's
    high-water mark through fork + exec."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _inputs(job: dict[str, Any]) -> tuple[np.ndarray, float | None]:
    """A real batch: the bundle's golden images through its preprocessing, tiled to the batch size.
    Returns the batch and the Python preprocessing time per image (ms), or random data when no golden set."""
    shape = [job["batch"], *job["sample_shape"]]
    golden = [Path(p) for p in job.get("golden", [])]
    if golden and job.get("spec"):
        from edgekit.preprocess import PreprocessSpec, run

        spec = PreprocessSpec.model_validate(job["spec"])
        xs, times = [], []
        for p in golden:  # decode + every step, per image; the median matches edgekit-bench's p50
            t0 = time.perf_counter()
            xs.append(run(spec, p)[0])
            times.append((time.perf_counter() - t0) * 1e3)
        pre_ms = float(np.median(times))
        one = np.concatenate(xs, axis=0)
        reps = -(-shape[0] // len(one))
        x = np.concatenate([one] * reps, axis=0)[: shape[0]]
        if list(x.shape) == shape:
            return np.ascontiguousarray(x, dtype=np.float32), pre_ms
    rng = np.random.default_rng(0)
    return rng.standard_normal(shape).astype(np.float32), None


def _time(fn: Any, warmup: int, iters: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def run_ort(job: dict[str, Any], x: np.ndarray) -> dict[str, Any]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = job["threads"]
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    t0 = time.perf_counter()
    sess = ort.InferenceSession(job["model_path"], so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    name = sess.get_inputs()[0].name
    feed = {name: x}
    samples = _time(lambda: sess.run(None, feed), job["warmup"], job["iters"])
    return {"samples_ms": samples, "load_ms": load_ms, "runtime_version": f"onnxruntime {ort.__version__}"}


def run_torch(job: dict[str, Any], x: np.ndarray) -> dict[str, Any]:
    import torch

    torch.set_num_threads(job["threads"])
    p = Path(job["model_path"])
    t0 = time.perf_counter()
    module = torch.export.load(str(p)).module() if p.suffix == ".pt2" else torch.jit.load(str(p))
    load_ms = (time.perf_counter() - t0) * 1e3
    xt = torch.from_numpy(x)

    def once() -> None:
        with torch.inference_mode():
            module(xt)

    try:
        once()
    except Exception as exc:  # e.g. a reference exported with a static batch: torch.export guards
        raise UnsupportedBatch(
            f"the reference model {p.name} does not run at batch {x.shape[0]} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
            "export the reference with a dynamic batch axis (torch.export dynamic_shapes) or use --batch 1",
        ) from exc
    samples = _time(once, job["warmup"], job["iters"])
    return {"samples_ms": samples, "load_ms": load_ms, "runtime_version": f"torch {torch.__version__} eager"}


class UnsupportedBatch(Exception):
    """This model cannot run at the asked batch size: the parent records the measurement as skipped."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


EXIT_UNSUPPORTED = 3


def main(argv: list[str]) -> int:
    job = json.loads(argv[1])
    x, pre_ms = _inputs(job)
    try:
        res = run_ort(job, x) if job["runtime"] == "ort" else run_torch(job, x)
    except UnsupportedBatch as exc:
        sys.stderr.write("EDGEKIT_BENCH_ERROR " + json.dumps({"message": exc.message, "fix": exc.fix}) + "\n")
        return EXIT_UNSUPPORTED
    res["preprocess_ms"] = pre_ms
    res["input"] = "golden" if pre_ms is not None else "random"
    res["vm_hwm_kb"] = vm_hwm_kb("self")
    res["self_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stdout.write("EDGEKIT_BENCH " + json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
