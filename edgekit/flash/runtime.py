"""The C++ runtime on the device: copy the sources, build them there with CMake, skip when current.

What is copied: ``cpp_runtime/`` (without build folders), ``tools/setup_cpp.sh`` (the script that builds
it) and the ONNX Runtime headers from ``.deps/`` when this checkout has them. That script needs
``.venv/bin/python`` with ``onnxruntime`` (it links the wheel's library), so the device gets a small venv
with the same onnxruntime version as this machine (from PyPI: the device needs that access). The sources'
fingerprint (sha256 over names and contents, plus that version) is written to ``runtime/FINGERPRINT``
after a good build; when it matches, nothing is copied or built.
"""

from __future__ import annotations

import hashlib
import posixpath
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from edgekit import resources as _resources
from edgekit.bundle import sha256_file
from edgekit.flash.errors import FlashError
from edgekit.flash.layout import RemoteLayout
from edgekit.flash.transfer import TransferCorrupt, remote_sha256, upload_files, verify_remote
from edgekit.remote.base import Remote

# the checkout, or a wheel's edgekit/_shipped (same relative paths: cpp_runtime/, tools/setup_cpp.sh, .deps/)
REPO = _resources.runtime_source_root() or _resources.CHECKOUT
BINARY_REL = "cpp_runtime/build/bin/edgekit-infer"
BUILD_TIMEOUT = 1800.0
# Release build only: no ASan build, no GoogleTest suite (the device needs neither, nor libgtest-dev).
BUILD_ENV = {"EDGEKIT_SKIP_ASAN": "1", "EDGEKIT_CMAKE_ARGS": "-DEDGEKIT_BUILD_TESTS=OFF",
             "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@dataclass
class RuntimeStatus:
    state: str  # "current", "built", "skipped", "failed"
    detail: str
    binary: str | None = None
    fingerprint: str | None = None
    seconds: float = 0.0


def ort_version() -> str:
    try:
        return metadata.version("onnxruntime")
    except metadata.PackageNotFoundError:
        return ""


def source_files(repo: Path = REPO) -> dict[str, tuple[str, int]]:
    """``rel -> (sha256, size)`` of what the device needs to build the runtime."""
    root = repo / "cpp_runtime"
    if not root.is_dir() or not (repo / "tools" / "setup_cpp.sh").is_file():
        raise FlashError(f"the C++ runtime sources are not in {repo} (cpp_runtime/, tools/setup_cpp.sh)",
                         "run flash from an edgekit source checkout, or pass --no-runtime")
    out: dict[str, tuple[str, int]] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(repo).as_posix()
        if any(part.startswith("build") or part.startswith(".") for part in p.relative_to(root).parts):
            continue
        if p.is_file():
            out[rel] = (sha256_file(p), p.stat().st_size)
    p = repo / "tools" / "setup_cpp.sh"
    out["tools/setup_cpp.sh"] = (sha256_file(p), p.stat().st_size)
    # ONNX Runtime's headers are the same on every architecture: sending ours spares the device the
    # Debian-trixie download that setup_cpp.sh would otherwise do (it skips it when they are present).
    headers = repo / ".deps" / "onnxruntime" / "include"
    for p in sorted(headers.rglob("*")) if headers.is_dir() else []:
        if p.is_file():
            out[p.relative_to(repo).as_posix()] = (sha256_file(p), p.stat().st_size)
    return out


def snapshot_sources(repo: Path, dest: Path) -> dict[str, tuple[str, int]]:
    """Copy the runtime sources into ``dest`` and describe the copies (``rel -> (sha256, size)``)."""
    out: dict[str, tuple[str, int]] = {}
    for rel in source_files(repo):
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, p)
        out[rel] = (sha256_file(p), p.stat().st_size)
    return out


def fingerprint(files: dict[str, tuple[str, int]]) -> str:
    h = hashlib.sha256(f"onnxruntime=={ort_version()}\n".encode())
    for rel, (sha, _) in sorted(files.items()):
        h.update(f"{sha}  {rel}\n".encode())
    return h.hexdigest()


def remote_binary(layout: RemoteLayout) -> str:
    return posixpath.join(layout.runtime_src, BINARY_REL)


def _read_remote_fingerprint(remote: Remote, layout: RemoteLayout) -> str | None:
    res = remote.run(["cat", "--", layout.fingerprint], check=False)
    return res.stdout.strip() or None if res.ok else None


def ensure_runtime(
    remote: Remote, layout: RemoteLayout, say: Callable[[str], None] = lambda s: None, repo: Path = REPO
) -> RuntimeStatus:
    """Build the runtime on the device unless it is already built from the same sources."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edgekit-runtime-src-") as snap:
        # a snapshot: sources edited while we send them must not make the device copy disagree with itself
        files = snapshot_sources(repo, Path(snap))
        fp = fingerprint(files)
        binary = remote_binary(layout)
        if _read_remote_fingerprint(remote, layout) == fp and not remote.dry_run \
                and remote.run(["test", "-x", binary], check=False).ok:
            return RuntimeStatus("current", "up to date (fingerprint matches)", binary, fp)
        say("copying the C++ runtime sources")
        src = layout.runtime_src
        remote.run(["mkdir", "-p", "--", src])
        have = remote_sha256(remote, src, list(files)) if not remote.dry_run else {}
        good = {rel for rel, (sha, _) in files.items() if have.get(rel) == sha}
        stale = [rel for rel in files if rel not in good]
        if stale and not remote.dry_run:
            remote.run(["rm", "-f", "--", *stale], cwd=src)  # changed files are sent whole
        upload_files(remote, Path(snap), files, src, skip=good)
        try:
            verify_remote(remote, src, files, consequence="nothing was built")
        except TransferCorrupt as exc:
            raise FlashError(f"C++ runtime sources: {exc.message}", "re-run the flash") from exc
    remote.run(["rm", "-f", "--", layout.fingerprint])
    say("building the C++ runtime on the device (CMake; minutes on a Jetson)")
    steps: list[list[str]] = [
        ["sh", "-c", 'test -x .venv/bin/python || python3 -m venv .venv'],
        ["sh", "-c", '.venv/bin/python -c "import onnxruntime" 2>/dev/null || '
                     '.venv/bin/python -m pip install -q "onnxruntime==$1"', "sh", ort_version() or "1.31.1"],
        ["bash", "tools/setup_cpp.sh"],
        ["test", "-x", BINARY_REL],
    ]
    for argv in steps:
        res = remote.run(argv, cwd=src, env=BUILD_ENV, check=False, timeout=BUILD_TIMEOUT)
        if not res.ok:
            tail = (res.stderr.strip() or res.stdout.strip()).splitlines()[-3:]
            why = f"`{' '.join(argv[:2])}` exit {res.returncode}: {' | '.join(tail)[:400]}"
            return RuntimeStatus("failed", why, None, fp, time.perf_counter() - t0)
    remote.run(["sh", "-c", 'printf "%s\\n" "$1" > "$2"', "sh", fp, layout.fingerprint])
    return RuntimeStatus("built", "built from the current sources", binary, fp, time.perf_counter() - t0)
