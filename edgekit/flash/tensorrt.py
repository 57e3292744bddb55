"""TensorRT engine build on the device, only where TensorRT exists there.

Probe: ``python3 -c "import tensorrt"`` and ``trtexec`` (on PATH or JetPack's /usr/src/tensorrt/bin).
The build follows the bundle's TensorRT plan (``trt/plan.json``, written by edgekit.trt): its ``trtexec``
argument list runs with the bundle folder as working directory. Never run on this project's machines
(no TensorRT here): that path is unverified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from edgekit.bundle import Bundle
from edgekit.remote.base import Remote

PLAN = "trt/plan.json"
JETPACK_TRTEXEC = "/usr/src/tensorrt/bin/trtexec"
ABSENT = "TensorRT absent on device: engine not built"
BUILD_TIMEOUT = 3600.0


@dataclass
class TrtStatus:
    state: str  # "not-required", "absent", "built", "failed", "no-plan"
    detail: str


def probe(remote: Remote) -> tuple[str | None, str | None]:
    """(tensorrt python version or None, trtexec path or None) on the device."""
    py = remote.run(["python3", "-c", "import tensorrt; print(tensorrt.__version__)"], check=False)
    script = 'command -v trtexec || { test -x "$1" && echo "$1"; }'
    exe = remote.run(["sh", "-c", script, "sh", JETPACK_TRTEXEC], check=False)
    version = py.stdout.strip().splitlines()[-1] if py.ok and py.stdout.strip() else None
    path = exe.stdout.strip().splitlines()[-1] if exe.ok and exe.stdout.strip() else None
    return version, path


def build_engine(remote: Remote, bundle: Bundle, remote_bundle: str, backend: str) -> TrtStatus:
    if backend != "tensorrt":
        return TrtStatus("not-required", f"profile backend is {backend}")
    version, trtexec = probe(remote)
    if remote.dry_run:
        trtexec = trtexec or "trtexec"
    elif version is None and trtexec is None:
        return TrtStatus("absent", ABSENT)
    plan_path = bundle.root / PLAN
    if not plan_path.is_file():
        return TrtStatus("no-plan", f"TensorRT {version or 'found'} on the device; the bundle has no {PLAN}")
    plan = json.loads(plan_path.read_text())
    args = [str(a) for a in plan.get("trtexec", [])]
    if not args or trtexec is None:
        return TrtStatus("no-plan", f"{PLAN} has no trtexec argument list, or the device has no trtexec")
    res = remote.run([trtexec, *args], cwd=remote_bundle, check=False, timeout=BUILD_TIMEOUT)
    if not res.ok:
        tail = (res.stderr.strip() or res.stdout.strip()).splitlines()[-1:] or [""]
        return TrtStatus("failed", f"trtexec exit {res.returncode}: {tail[0][:300]}")
    return TrtStatus("built", f"engine built with {trtexec} (TensorRT {version or '?'})")
