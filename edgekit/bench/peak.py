"""Practical single-thread peaks of this host, the numbers behind device_configs/cpu.yaml's ``peak``:

    python -m edgekit.bench.peak [--json]

fp32: numpy sgemm (2048^3) and ONNX Runtime MatMul (1024^3); int8: ONNX Runtime MatMulInteger u8 x s8
(1024^3), the kernel family QLinearConv uses; bandwidth: np.copyto of 256 MB (read + write counted).
Each is the best of 5 runs, one thread (OPENBLAS/OMP threads set to 1 before numpy loads).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _best(fn: Any, reps: int = 5) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _ort_matmul(op: str, a: np.ndarray, w: np.ndarray) -> float:
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    m_, k = a.shape
    n = w.shape[1]
    a_t = TensorProto.UINT8 if a.dtype == np.uint8 else TensorProto.FLOAT
    y_t = TensorProto.INT32 if op == "MatMulInteger" else TensorProto.FLOAT
    g = helper.make_graph(
        [helper.make_node(op, ["A", "W"], ["Y"])],
        "peak",
        [helper.make_tensor_value_info("A", a_t, [m_, k])],
        [helper.make_tensor_value_info("Y", y_t, [m_, n])],
        [numpy_helper.from_array(w, "W")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    t = _best(lambda: sess.run(None, {"A": a}))
    return 2.0 * m_ * k * n / t / 1e9


def measure() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n = 2048
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    sgemm = 2.0 * n**3 / _best(lambda: a @ b) / 1e9
    k = 1024
    ort_fp32 = _ort_matmul(
        "MatMul", rng.random((k, k), dtype=np.float32), rng.random((k, k), dtype=np.float32)
    )
    ort_int8 = _ort_matmul(
        "MatMulInteger",
        rng.integers(0, 255, (k, k), dtype=np.uint8),
        rng.integers(-127, 127, (k, k), dtype=np.int8),
    )
    big = np.ones(64 * 1024 * 1024, np.float32)
    dst = np.empty_like(big)
    copy_gbps = 2.0 * big.nbytes / _best(lambda: np.copyto(dst, big)) / 1e9
    return {
        "numpy_sgemm_gflops": sgemm,
        "ort_matmul_fp32_gflops": ort_fp32,
        "ort_matmul_integer_gops": ort_int8,
        "copy_gbps": copy_gbps,
        "threads": 1,
    }


def main() -> int:
    res = measure()
    if "--json" in sys.argv:
        print(json.dumps(res, indent=2))
    else:
        for key, val in res.items():
            print(f"{key:26s} {val:.1f}" if isinstance(val, float) else f"{key:26s} {val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
