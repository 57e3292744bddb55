"""The C++ runtime on the device: copy the sources, build them there with CMake, skip when current.

What is copied: ``cpp_runtime/`` (without build folders), ``tools/setup_cpp.sh`` and the ONNX Runtime
headers from ``.deps/`` when this checkout has them. The build on the device is
``cpp_runtime/tools/device_build.py`` (standard library, Python 3.6+: no edgekit Python, no venv, no
pinned onnxruntime): ``device_env.py`` checks the support matrix and picks TensorRT / ONNX Runtime
(an installed build, else a PyPI wheel that exists for the device's Python, else none: said so). The
sources' fingerprint (sha256 over names and contents) is written to ``runtime/FINGERPRINT`` after a good
build; when it matches, nothing is copied or built.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
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


SCHEMA_HEADER = "cpp_runtime/include/edgekit/manifest.hpp"
_SCHEMA_RE = re.compile(r"constexpr int kSchemaVersion = (\d+);")


def source_schema(repo: Path = REPO) -> int | None:
    """The manifest schema the C++ runtime built from ``repo`` understands (kSchemaVersion)."""
    p = repo / SCHEMA_HEADER
    m = _SCHEMA_RE.search(p.read_text()) if p.is_file() else None
    return int(m.group(1)) if m else None


def device_schema(remote: Remote, layout: RemoteLayout) -> int | None:
    """The schema the runtime BUILT on the device understands (from the sources it was built from), or
    None when no runtime is built there."""
    if remote.dry_run or not remote.run(["test", "-f", layout.fingerprint], check=False).ok:
        return None
    res = remote.run(["cat", "--", posixpath.join(layout.runtime_src, SCHEMA_HEADER)], check=False)
    m = _SCHEMA_RE.search(res.stdout) if res.ok else None
    return int(m.group(1)) if m else None


def remote_binary(layout: RemoteLayout) -> str:
    return posixpath.join(layout.runtime_src, BINARY_REL)


def _read_remote_fingerprint(remote: Remote, layout: RemoteLayout) -> str | None:
    res = remote.run(["cat", "--", layout.fingerprint], check=False)
    return res.stdout.strip() or None if res.ok else None


def ensure_runtime(
    remote: Remote, layout: RemoteLayout, say: Callable[[str], None] = lambda s: None, repo: Path = REPO,
    jobs: int = 2,
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
    ort_note = ""
    say("building the C++ runtime on the device (CMake; minutes on a Jetson)")
    # device_build.py (stdlib Python 3.6+, no edgekit Python on the device): device_env.py decides TensorRT
    # and ONNX Runtime (an installed build, else a wheel that exists for the device's Python, else none),
    # then CMake builds the Release runtime without tests.
    steps: list[list[str]] = [
        ["python3", "cpp_runtime/tools/device_build.py", "--jobs", str(jobs)],
        ["test", "-x", BINARY_REL],
    ]
    for argv in steps:
        res = remote.run(argv, cwd=src, env=BUILD_ENV, check=False, timeout=BUILD_TIMEOUT)
        if not res.ok:
            lines = (res.stderr.strip() or res.stdout.strip()).splitlines()
            err = [ln for ln in lines if ln.startswith("error: ")]
            why = err[-1][7:] if err else f"`{' '.join(argv[:2])}` exit {res.returncode}: " \
                f"{' | '.join(lines[-3:])[:400]}"
            return RuntimeStatus("failed", why, None, fp, time.perf_counter() - t0)
        if argv[0] == "python3":
            notes = [ln.split("] ", 1)[1] for ln in res.stderr.splitlines()
                     if ln.startswith("[device_build] ONNX")]
            ort_note = notes[-1] if notes else ""
    remote.run(["sh", "-c", 'printf "%s\\n" "$1" > "$2"', "sh", fp, layout.fingerprint])
    detail = "built from the current sources" + (f"; {ort_note}" if ort_note else "")
    return RuntimeStatus("built", detail, binary, fp, time.perf_counter() - t0)
