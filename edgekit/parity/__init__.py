"""Parity: prove the deployed side (C++ runtime, ONNX Runtime, PyTorch) computes what training computed.

from edgekit.parity import run_parity, write_reference
report = run_parity("bundle/", runtime="cpp")   # ParityReport; report.exit_code 0 in sync, 1 not
"""

from edgekit.parity.check import RUNTIMES, run_parity
from edgekit.parity.executor import ExecResult, Executor, LocalExecutor, register_remote_executor
from edgekit.parity.reference import load_reference, write_reference
from edgekit.parity.report import ParityReport

__all__ = [
    "RUNTIMES",
    "ExecResult",
    "Executor",
    "LocalExecutor",
    "ParityReport",
    "load_reference",
    "register_remote_executor",
    "run_parity",
    "write_reference",
]
