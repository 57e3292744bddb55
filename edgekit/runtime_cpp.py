"""Finding and driving the C++ runtime's binaries (``edgekit-infer``, ``edgekit-bench``) from Python.

Used by the parity checker, the benchmark command, flashing and the demo. Search order for a binary
(:func:`search_dirs`; the first folder holding it wins):

1. ``$EDGEKIT_CPP_BIN_DIR`` — when set, the only place looked at (a deliberate choice is never overridden);
2. the checkout's build, ``cpp_runtime/build/bin`` (``tools/setup.sh`` builds it), when edgekit is imported
   from a source checkout (editable install);
3. ``<prefix>/bin`` of :func:`default_prefix`, where ``edgekit runtime build`` installs by default:
   ``$EDGEKIT_RUNTIME_PREFIX``, else the active virtual environment (``sys.prefix``), else
   ``~/.local/share/edgekit/runtime``;
4. ``PATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from edgekit import resources
from edgekit.errors import EdgekitError

REPO = resources.CHECKOUT
DEFAULT_BIN_DIR = REPO / "cpp_runtime" / "build" / "bin"
BINARIES = ("edgekit-infer", "edgekit-bench")


class CppRuntimeError(EdgekitError):
    """The C++ runtime is missing, or one of its binaries failed."""


def default_prefix() -> Path:
    """Where ``edgekit runtime build`` installs without ``--prefix`` (step 3 of the search order)."""
    env = os.environ.get("EDGEKIT_RUNTIME_PREFIX")
    if env:
        return Path(env)
    if sys.prefix != sys.base_prefix:  # a virtual environment: its bin/ is on PATH once activated
        return Path(sys.prefix)
    return Path.home() / ".local" / "share" / "edgekit" / "runtime"


def search_dirs() -> list[Path]:
    """The folders searched for the binaries, in order (see the module docstring)."""
    env = os.environ.get("EDGEKIT_CPP_BIN_DIR")
    if env:
        return [Path(env)]
    dirs = [DEFAULT_BIN_DIR] if resources.in_checkout() else []
    dirs.append(default_prefix() / "bin")
    dirs += [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return dirs


def bin_dir() -> Path:
    """The folder that holds ``edgekit-infer`` (the first of :func:`search_dirs` when none does)."""
    try:
        return find_binary("edgekit-infer").parent
    except CppRuntimeError:
        return search_dirs()[0]


def _fix() -> str:
    if os.environ.get("EDGEKIT_CPP_BIN_DIR"):
        return ("build the runtime into that folder (tools/setup.sh, `edgekit runtime build --prefix`), "
                "or unset EDGEKIT_CPP_BIN_DIR")
    if resources.in_checkout():
        return "run tools/setup.sh (or `edgekit runtime build`)"
    return "run `edgekit runtime build`"


def find_binary(name: str = "edgekit-infer") -> Path:
    """The path of a built C++ runtime binary; raises CppRuntimeError with the fix if absent."""
    if name not in BINARIES:
        raise CppRuntimeError(f"unknown C++ runtime binary '{name}'", f"use one of {', '.join(BINARIES)}")
    dirs = search_dirs()
    for d in dirs:
        p = d / name
        if p.is_file() and os.access(p, os.X_OK):
            return p
    where = "EDGEKIT_CPP_BIN_DIR=" + str(dirs[0]) if os.environ.get("EDGEKIT_CPP_BIN_DIR") else \
        ", ".join(str(d) for d in dirs[:2]) + (" or PATH" if len(dirs) > 2 else "")
    raise CppRuntimeError(f"the C++ runtime is not built: {name} is not in {where}", _fix())


def is_built() -> bool:
    try:
        return all(find_binary(n).is_file() for n in BINARIES)
    except CppRuntimeError:
        return False


def which_runtime() -> dict[str, Any]:
    """What ``edgekit doctor`` reports: where each binary is (or None) and where the search looked."""
    found: dict[str, str | None] = {}
    for n in BINARIES:
        try:
            found[n] = str(find_binary(n))
        except CppRuntimeError:
            found[n] = None
    return {"binaries": found, "searched": [str(d) for d in search_dirs()[:3]], "fix": _fix()}


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
