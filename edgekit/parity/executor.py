"""Where the C++ runtime runs: an injectable executor (run an argv, fetch a folder back).

``LocalExecutor`` runs ``edgekit-infer`` on this machine. A remote executor (SSH to a Jetson) implements the
same protocol and registers a factory with :func:`register_remote_executor`; ``edgekit parity --host`` then
uses it. Paths on the target are strings (POSIX), local paths are ``Path``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from edgekit.errors import EdgekitError

# the checkout's build (edgekit.runtime_cpp.find_binary covers a wheel install's prefix)
REPO_BINARY = Path(__file__).resolve().parents[2] / "cpp_runtime" / "build" / "bin" / "edgekit-infer"


class RuntimeNotFound(EdgekitError):
    """The runtime under test cannot be found or started."""


@dataclass
class ExecResult:
    returncode: int
    stdout: str
    stderr: str


class Executor(Protocol):
    name: str  # shown in the report, e.g. "local" or "nvidia@jetson"

    def binary(self) -> str:
        """Path of ``edgekit-infer`` on the target."""
        ...

    def bundle_path(self, local_bundle: Path) -> str:
        """Where the bundle that ``local_bundle`` is a copy of lives on the target."""
        ...

    def mkdtemp(self) -> str:
        """A fresh empty folder on the target."""
        ...

    def run(self, argv: Sequence[str], timeout: float) -> ExecResult: ...

    def fetch(self, remote_dir: str, local_dir: Path) -> None:
        """Copy the target folder's contents into the (existing) local folder."""
        ...

    def cleanup(self, remote_dir: str) -> None: ...


def find_local_binary(explicit: str | Path | None = None) -> Path | None:
    """``explicit``, ``$EDGEKIT_INFER``, ``edgekit.runtime_cpp.find_binary()``, the repo build, or PATH."""
    if explicit:
        if Path(explicit).is_file() and os.access(explicit, os.X_OK):
            return Path(explicit)
        raise RuntimeNotFound(
            f"edgekit-infer binary {explicit} does not exist or is not executable",
            "pass the path of a built edgekit-infer",
        )
    cands: list[str | Path | None] = [os.environ.get("EDGEKIT_INFER")]
    try:  # the C++ engineer's helper, when present
        found = importlib.import_module("edgekit.runtime_cpp").find_binary()
        cands.append(str(found) if found else None)
    except Exception:  # noqa: BLE001 - absent or not built yet: fall through to the other places
        pass
    cands += [REPO_BINARY, shutil.which("edgekit-infer")]
    for c in cands:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return Path(c)
    return None


class LocalExecutor:
    name = "local"

    def __init__(self, binary: str | Path | None = None) -> None:
        found = find_local_binary(binary)
        if found is None:
            raise RuntimeNotFound(
                "the C++ runtime edgekit-infer is not built (looked in $EDGEKIT_INFER, "
                f"{REPO_BINARY} and PATH)",
                "build it with tools/setup.sh (or cmake -S cpp_runtime -B cpp_runtime/build && "
                "cmake --build cpp_runtime/build), or check another side with --runtime ort",
            )
        self._binary = found
        self._tmps: list[str] = []

    def binary(self) -> str:
        return str(self._binary)

    def bundle_path(self, local_bundle: Path) -> str:
        return str(Path(local_bundle).resolve())

    def mkdtemp(self) -> str:
        d = tempfile.mkdtemp(prefix="edgekit-parity-")
        self._tmps.append(d)
        return d

    def run(self, argv: Sequence[str], timeout: float) -> ExecResult:
        try:
            p = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return ExecResult(124, "", f"error: timed out after {timeout:g} s")
        except OSError as exc:
            raise RuntimeNotFound(
                f"cannot start {argv[0]}: {exc.strerror}", "rebuild the C++ runtime"
            ) from exc
        return ExecResult(p.returncode, p.stdout, p.stderr)

    def fetch(self, remote_dir: str, local_dir: Path) -> None:
        shutil.copytree(remote_dir, local_dir, dirs_exist_ok=True)

    def cleanup(self, remote_dir: str) -> None:
        shutil.rmtree(remote_dir, ignore_errors=True)


RemoteFactory = Callable[..., Executor]  # (host, local_bundle, **options) -> Executor
_remote_factory: RemoteFactory | None = None


def register_remote_executor(factory: RemoteFactory) -> None:
    """Called by the SSH transport module: ``factory(host, local_bundle, **options) -> Executor`` (options:
    port, identity, known_hosts, remote_dir, ... as the CLI passes them; None values are left out)."""
    global _remote_factory
    _remote_factory = factory


def remote_executor(host: str, local_bundle: Path, **options: object) -> Executor:
    if _remote_factory is None:
        with contextlib.suppress(ImportError):  # the SSH transport registers itself on import
            import edgekit.remote.executor  # noqa: F401
    if _remote_factory is None:
        raise RuntimeNotFound(
            f"no SSH transport is registered, so parity cannot run on {host}",
            "use an edgekit with the flash/SSH module installed, or run parity on the device itself",
        )
    return _remote_factory(host, local_bundle, **{k: v for k, v in options.items() if v is not None})
