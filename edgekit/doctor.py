"""``edgekit doctor``: the device core (cpp_runtime/tools/doctor.py, stdlib only, runs on a Jetson without
edgekit) plus the rows only this Python package can check: Python >= 3.10, torch (CPU/CUDA build, GPU
visible), onnx, ONNX Runtime and its providers, OpenCV, where edgekit itself is installed.

``--device NAME`` checks what that profile needs: a Jetson profile on the Jetson itself checks TensorRT and
JetPack against the profile's versions; on the host it checks the host side of that device's path (the
device-only rows are reported, not required). Without ``--device`` the check is for this machine.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from edgekit import resources
from edgekit.errors import EdgekitError


def load_core() -> ModuleType:
    """The stdlib doctor script, imported as a module from the runtime sources this edgekit carries."""
    root = resources.runtime_source_root()
    path = root / "cpp_runtime" / "tools" / "doctor.py" if root else None
    if path is None or not path.is_file():
        raise EdgekitError(
            "the doctor script (cpp_runtime/tools/doctor.py) is not in this edgekit install",
            "reinstall edgekit from a wheel built with `python -m build`",
        )
    spec = importlib.util.spec_from_file_location("edgekit_doctor_core", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def python_rows(core: ModuleType) -> list[Any]:
    Row = core.Row
    rows = []
    v = sys.version_info
    ok = v >= (3, 10)
    rows.append(
        Row(
            "python",
            "python",
            "ok" if ok else "missing",
            f"{v.major}.{v.minor}.{v.micro} ({sys.executable})",
            True,
            "" if ok else "edgekit needs Python >= 3.10: use a newer Python",
        )
    )
    import edgekit

    rows.append(
        Row("python", "edgekit", "ok", f"{edgekit.__version__} ({Path(edgekit.__file__).parent})", True)
    )
    try:
        import torch

        cuda = torch.version.cuda
        gpu = torch.cuda.is_available()
        build = f"CUDA {cuda} build" if cuda else "CPU build"
        rows.append(
            Row(
                "python",
                "torch",
                "ok",
                f"{torch.__version__} ({build}; GPU visible: {'yes' if gpu else 'no'})",
                True,
            )
        )
    except Exception as exc:  # noqa: BLE001 - import failures of any kind are a finding
        rows.append(
            Row(
                "python",
                "torch",
                "missing",
                f"not importable ({type(exc).__name__})",
                True,
                "pip install torch==2.13.0 (the CPU build first, see tools/setup.sh)",
            )
        )
    for mod, pip_name in (("onnx", "onnx"), ("cv2", "opencv-python-headless")):
        try:
            m = importlib.import_module(mod)
            rows.append(
                Row(
                    "python",
                    pip_name.split("-")[0] if mod == "cv2" else mod,
                    "ok",
                    getattr(m, "__version__", "?"),
                    True,
                )
            )
        except Exception as exc:  # noqa: BLE001
            rows.append(
                Row(
                    "python",
                    mod,
                    "missing",
                    f"not importable ({type(exc).__name__})",
                    True,
                    f"pip install {pip_name}",
                )
            )
    try:
        import onnxruntime as ort

        rows.append(Row("python", "onnxruntime", "ok", ort.__version__, True))
        rows.append(Row("python", "ORT providers", "ok", ", ".join(ort.get_available_providers()), False))
    except Exception as exc:  # noqa: BLE001
        rows.append(
            Row(
                "python",
                "onnxruntime",
                "missing",
                f"not importable ({type(exc).__name__})",
                True,
                "pip install onnxruntime",
            )
        )
    return rows


def run(device: str | None = None, root: str | None = None) -> tuple[list[Any], int, ModuleType]:
    """(rows, exit code, core module). ``root``: read files below it (tests: a fake Jetson), default
    ``$EDGEKIT_DOCTOR_ROOT`` or ``/``."""
    import os

    from edgekit.runtime_cpp import search_dirs

    root = root or os.environ.get("EDGEKIT_DOCTOR_ROOT") or "/"

    core = load_core()
    kwargs: dict[str, Any] = {"runtime_bins": [str(d) for d in search_dirs()[:2]]}
    if device:
        from edgekit.profiles import get_profile

        prof = get_profile(device)
        here_jetson = core.is_jetson(root)
        if prof.kind == "jetson" and here_jetson:
            kwargs.update(
                kind="jetson",
                expect_tensorrt=prof.tensorrt.version if prof.tensorrt else None,
                expect_jetpack=prof.jetpack.version if prof.jetpack else None,
            )
        else:
            kwargs.update(kind="host")
    rows = python_rows(core) + core.check(root, **kwargs)
    if device:
        rows.insert(
            0,
            core.Row(
                "profile",
                "device",
                "info",
                device
                + (
                    " (checked on this host: run `edgekit doctor --device` on the device too; flash does)"
                    if kwargs.get("kind") == "host" and get_profile(device).kind == "jetson"
                    else ""
                ),
            ),
        )
    return rows, core.exit_code(rows), core
