"""Finding and driving the C++ runtime's binaries (``edgekit-infer``, ``edgekit-bench``) from Python.

Used by the parity checker, the benchmark command, flashing and the demo. The binaries are built by
``tools/setup.sh`` (which runs ``tools/setup_cpp.sh``) into ``cpp_runtime/build/bin``; set
``EDGEKIT_CPP_BIN_DIR`` to use another build (e.g. an install prefix's ``bin``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BIN_DIR = REPO / "cpp_runtime" / "build" / "bin"
BINARIES = ("edgekit-infer", "edgekit-bench")


class CppRuntimeError(EdgekitError):
    """The C++ runtime is missing, or one of its binaries failed."""


def bin_dir() -> Path:
    env = os.environ.get("EDGEKIT_CPP_BIN_DIR")
    return Path(env) if env else DEFAULT_BIN_DIR


def find_binary(name: str = "edgekit-infer") -> Path:
    """The path of a built C++ runtime binary; raises CppRuntimeError with the fix if absent."""
    if name not in BINARIES:
        raise CppRuntimeError(f"unknown C++ runtime binary '{name}'", f"use one of {', '.join(BINARIES)}")
    p = bin_dir() / name
    if not (p.is_file() and os.access(p, os.X_OK)):
        where = "EDGEKIT_CPP_BIN_DIR" if os.environ.get("EDGEKIT_CPP_BIN_DIR") else "the repo build"
        raise CppRuntimeError(
            f"the C++ runtime binary {name} is not built ({p} missing, from {where})", "run tools/setup.sh"
        )
    return p


def is_built() -> bool:
    try:
        return all(find_binary(n).is_file() for n in BINARIES)
    except CppRuntimeError:
        return False


def _error_line(stderr: str) -> str:
    for line in stderr.splitlines():
        if line.startswith("error: "):
            return line[len("error: ") :]
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def run_infer(
    bundle: str | Path,
    input: str | Path,  # noqa: A002 - the CLI's name
    model: str | None = None,
    dump_stages: str | Path | None = None,
    output: str | Path | None = None,
    threads: int = 1,
    backend: str = "ort",
    timeout: float | None = 600,
) -> list[dict[str, Any]]:
    """Run ``edgekit-infer --json`` and return its JSON lines (one per input image / batch item).

    Exit 2 raises CppRuntimeError with the binary's one-line message (its ``fix`` split off). Exit 3
    (NaN/Inf in an output) returns the lines; each has ``"nonfinite": true`` where it happened.
    """
    cmd = [
        str(find_binary("edgekit-infer")),
        "--bundle",
        str(bundle),
        "--input",
        str(input),
        "--json",
        "--threads",
        str(threads),
        "--backend",
        backend,
    ]
    if model:
        cmd += ["--model", model]
    if dump_stages is not None:
        cmd += ["--dump-stages", str(dump_stages)]
    if output is not None:
        cmd += ["--output", str(output)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise CppRuntimeError(
            f"edgekit-infer did not finish within {timeout} s", "check the input size"
        ) from exc
    if res.returncode not in (0, 3):
        msg = _error_line(res.stderr)
        message, _, fix = msg.partition(" — fix: ")
        if res.returncode != 2:
            message = f"edgekit-infer crashed (exit {res.returncode}): {message}"
            fix = fix or "report this bug with the command line"
        raise CppRuntimeError(message, fix or None)
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
