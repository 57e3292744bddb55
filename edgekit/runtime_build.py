"""``edgekit runtime build``: configure, build and install the C++ runtime with CMake from the sources this
edgekit carries (the checkout's ``cpp_runtime/`` or a wheel's ``edgekit/_shipped/cpp_runtime``).

ONNX Runtime: headers shipped with edgekit (edgekit.resources.ort_include_dir), library = the
``onnxruntime`` wheel of this Python environment (recorded for dlopen and installed as
``<prefix>/lib/libonnxruntime.so.1``). Release build, no GoogleTest suite. The build folder
(``<prefix>/share/edgekit/runtime-build``) is kept, so a second run only rebuilds what changed.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgekit import resources
from edgekit.errors import EdgekitError

CMAKE_MIN = (3, 16)  # cpp_runtime/CMakeLists.txt cmake_minimum_required (JetPack 5's CMake)
BINARIES = ("edgekit-infer", "edgekit-bench")


class RuntimeBuildError(EdgekitError):
    """The C++ runtime cannot be built here (a tool, header or library is missing, or the build failed)."""


@dataclass
class BuildTools:
    cmake: str
    cmake_version: tuple[int, ...]
    cxx: str


@dataclass
class RuntimeBuildResult:
    prefix: Path
    binaries: dict[str, str]
    ort_library: str
    source: Path
    build_dir: Path
    seconds: float
    steps: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "prefix": str(self.prefix),
            "binaries": self.binaries,
            "ort_library": self.ort_library,
            "source": str(self.source),
            "build_dir": str(self.build_dir),
            "seconds": round(self.seconds, 1),
            "steps": [{"step": s, "seconds": round(t, 1)} for s, t in self.steps],
        }


def find_tools(env: dict[str, str] | None = None) -> BuildTools:
    """CMake (>= CMAKE_MIN) and a C++ compiler on PATH, or a RuntimeBuildError naming the fix."""
    env = dict(os.environ if env is None else env)
    path = env.get("PATH", "")
    cmake = shutil.which("cmake", path=path)
    if cmake is None:
        raise RuntimeBuildError(
            "CMake is not installed (no cmake on PATH)", "apt-get install cmake (or pip install cmake)"
        )
    out = subprocess.run([cmake, "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", out)
    ver = tuple(int(g) for g in m.groups() if g is not None) if m else (0,)
    if ver < CMAKE_MIN:
        raise RuntimeBuildError(
            f"CMake {'.'.join(map(str, ver))} is older than {'.'.join(map(str, CMAKE_MIN))}, "
            "which the runtime needs",
            "pip install cmake (a newer CMake into this environment)",
        )
    cxx = env.get("CXX") or next((c for c in ("c++", "g++", "clang++") if shutil.which(c, path=path)), None)
    if not cxx or shutil.which(cxx, path=path) is None:
        raise RuntimeBuildError(
            "no C++ compiler found (CXX, c++, g++ or clang++)", "apt-get install build-essential (or set CXX)"
        )
    return BuildTools(cmake, ver, shutil.which(cxx, path=path) or cxx)


def ort_library() -> Path:
    """The ``libonnxruntime.so.<ver>`` of this environment's onnxruntime wheel."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise RuntimeBuildError(
            "onnxruntime is not installed in this Python environment", "pip install onnxruntime"
        ) from exc
    capi = Path(onnxruntime.__file__).parent / "capi"
    libs = sorted(p for p in glob.glob(str(capi / "libonnxruntime.so.*")) if not p.endswith(".so"))
    if not libs:
        raise RuntimeBuildError(
            f"the onnxruntime package in {capi.parent} has no libonnxruntime.so.*",
            "pip install --force-reinstall onnxruntime (a wheel from PyPI)",
        )
    return Path(libs[-1])


def sources() -> Path:
    root = resources.runtime_source_root()
    if root is None:
        raise RuntimeBuildError(
            "this edgekit install carries no C++ runtime sources (edgekit/_shipped missing)",
            "reinstall edgekit from a wheel built with `python -m build`",
        )
    return root / "cpp_runtime"


def _run(cmd: list[str], log: Path, env: dict[str, str]) -> None:
    with log.open("a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, check=False)
    if r.returncode != 0:
        tail = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()][-1:] or ["?"]
        raise RuntimeBuildError(
            f"`{' '.join(cmd[:2])}` failed (exit {r.returncode}): {tail[0][:300]}", f"read the full log {log}"
        )


def build_runtime(
    prefix: Path | None = None,
    jobs: int = 2,
    say: Callable[[str], None] = lambda s: None,
    extra_cmake_args: list[str] | None = None,
) -> RuntimeBuildResult:
    """Build and install the runtime into ``prefix`` (default: edgekit.runtime_cpp.default_prefix())."""
    from edgekit.runtime_cpp import default_prefix

    t0 = time.perf_counter()
    env = dict(os.environ)
    tools = find_tools(env)
    src = sources()
    inc = resources.ort_include_dir()
    if inc is None:
        raise RuntimeBuildError(
            "the ONNX Runtime C/C++ headers are not shipped with this edgekit",
            "in a checkout run tools/setup_cpp.sh (it unpacks them into .deps/onnxruntime)",
        )
    lib = ort_library()
    prefix = (prefix or default_prefix()).expanduser().resolve()
    try:
        prefix.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RuntimeBuildError(
            f"cannot create the install prefix {prefix}: {exc.strerror}", "pass a writable --prefix"
        ) from exc
    if not os.access(prefix, os.W_OK):
        raise RuntimeBuildError(f"the install prefix {prefix} is not writable", "pass a writable --prefix")
    bdir = prefix / "share" / "edgekit" / "runtime-build"
    bdir.mkdir(parents=True, exist_ok=True)
    log = bdir / "edgekit-runtime-build.log"
    log.write_text("")
    env["CXX"] = tools.cxx
    steps: list[tuple[str, float]] = []
    cfg = [
        tools.cmake,
        "-S",
        str(src),
        "-B",
        str(bdir),
        "-DCMAKE_BUILD_TYPE=Release",
        "-DEDGEKIT_BUILD_TESTS=OFF",
        f"-DORT_ROOT={inc.parent}",
        f"-DEDGEKIT_ORT_LIBRARY={lib}",
        f"-DCMAKE_INSTALL_PREFIX={prefix}",
        f"-DEDGEKIT_PYTHON={sys.executable}",
        *(extra_cmake_args or []),
    ]
    for name, cmd in (
        ("configure", cfg),
        ("build", [tools.cmake, "--build", str(bdir), "-j", str(max(1, jobs))]),
        ("install", [tools.cmake, "--install", str(bdir)]),
    ):
        say(f"{name} ({src})" if name == "configure" else name)
        t = time.perf_counter()
        _run(cmd, log, env)
        steps.append((name, time.perf_counter() - t))
    bins = {b: str(prefix / "bin" / b) for b in BINARIES}
    missing = [b for b, p in bins.items() if not os.access(p, os.X_OK)]
    if missing:
        raise RuntimeBuildError(
            f"the build finished but {', '.join(missing)} is not in {prefix / 'bin'}",
            f"read the full log {log}",
        )
    return RuntimeBuildResult(prefix, bins, str(lib), src, bdir, time.perf_counter() - t0, steps)
