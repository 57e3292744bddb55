"""Where edgekit's non-Python files are: device profiles, the C++ runtime sources, ONNX Runtime headers.

Two layouts, one answer:
- a checkout (``pip install -e .`` or PYTHONPATH): the files live at the repository's top level
  (``device_configs/``, ``cpp_runtime/``, ``tools/setup_cpp.sh``, ``.deps/onnxruntime/include``);
- a wheel (``pip install edgekit``): the build copies the same files into the package, under
  ``edgekit/_shipped/`` with the same relative paths (tools/build_hooks.py), because the top level does not
  exist there.
The checkout wins when both exist, so a developer's edits take effect without reinstalling.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
SHIPPED = PACKAGE / "_shipped"


def in_checkout() -> bool:
    """True when this edgekit is imported from a source checkout (its runtime sources sit beside it)."""
    return (CHECKOUT / "cpp_runtime" / "CMakeLists.txt").is_file() and (CHECKOUT / "pyproject.toml").is_file()


def device_configs_dir() -> Path:
    """``$EDGEKIT_DEVICE_CONFIGS``, else the checkout's ``device_configs/``, else the wheel's copy."""
    env = os.environ.get("EDGEKIT_DEVICE_CONFIGS")
    if env:
        return Path(env)
    return (CHECKOUT if in_checkout() else SHIPPED) / "device_configs"


def runtime_source_root() -> Path | None:
    """The folder holding ``cpp_runtime/`` and ``tools/setup_cpp.sh`` (the checkout or ``_shipped``)."""
    if in_checkout():
        return CHECKOUT
    if (SHIPPED / "cpp_runtime" / "CMakeLists.txt").is_file():
        return SHIPPED
    return None


def ort_include_dir() -> Path | None:
    """ONNX Runtime C/C++ headers (from Debian's libonnxruntime-dev, MIT): the checkout's ``.deps`` or the
    wheel's copy."""
    for c in (CHECKOUT / ".deps" / "onnxruntime" / "include", SHIPPED / ".deps" / "onnxruntime" / "include"):
        if (c / "onnxruntime_cxx_api.h").is_file() or (c / "onnxruntime" / "onnxruntime_cxx_api.h").is_file():
            return c
    return None
