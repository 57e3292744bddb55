"""ONNX Runtime CPU sessions for parity: one thread, no spinning (several sessions share 2 vCPUs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.errors import BundleError


def session(path: Path, optimize: bool = True):  # type: ignore[no-untyped-def]
    """``optimize=False`` runs the graph as written (no Q/DQ fusion into integer kernels): the exact
    semantics of a Q/DQ model, which is what fake-quant PyTorch simulates."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise BundleError(
            f"ONNX Runtime cannot load {path}: {str(exc).splitlines()[0]}",
            "rebuild the bundle or replace the model file",
        ) from exc


def run(sess, x: np.ndarray, input_name: str | None = None) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    name = input_name or sess.get_inputs()[0].name
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, {name: x})
    return {n: np.asarray(o) for n, o in zip(names, outs, strict=True)}
