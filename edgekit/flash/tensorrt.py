"""TensorRT engine build on the device, only where TensorRT exists there, exactly as ``trt/plan.json`` says.

The device needs no edgekit Python: ``cpp_runtime/tools/engine_build.py`` (standard library, Python 3.6+)
is copied to ``<remote-dir>/runtime/tools/`` and run with the device's python3. It picks the plan entry of
the bundle's ``default_model``, runs ``trtexec`` with that entry's arguments (workspace limit and timing
cache included), then ``edgekit-trt-meta`` (built with the runtime where TensorRT is found) writes the
engine metadata JSON that ``edgekit-infer --backend trt`` requires.

Why trtexec and not a C++ builder: trtexec ships with every JetPack and takes the plan's argument list
as it is; a C++ builder would need nvonnxparser, whose header (NvOnnxParser.h) is in only one of the five
TensorRT header sets CI compiles against (11.1), so it could not be compile-checked for 8.2-10.3. The
metadata, which needs the TensorRT API, comes from edgekit-trt-meta, compiled against all five.
Never run against TensorRT on this project's machines: that path is compiled/written, never run.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from pathlib import Path

from edgekit.bundle import Bundle, sha256_file
from edgekit.flash.errors import TransferCorrupt
from edgekit.flash.layout import RemoteLayout
from edgekit.flash.transfer import upload_files, verify_remote
from edgekit.remote.base import Remote

PLAN = "trt/plan.json"
ABSENT = "TensorRT absent on device: engine not built"
BUILD_TIMEOUT = 3600.0
TOOLS = Path(__file__).resolve().parents[2] / "cpp_runtime" / "tools"
SCRIPTS = ("engine_build.py", "device_env.py")
META_TOOL_REL = "src/cpp_runtime/build/bin/edgekit-trt-meta"


@dataclass
class TrtStatus:
    state: str  # "not-required", "absent", "built", "failed", "no-plan", "planned"
    detail: str
    engine: str | None = None  # relative to the bundle, when built
    precision: str | None = None


def send_tools(remote: Remote, layout: RemoteLayout, tools: Path = TOOLS) -> str:
    """Copy the device-side scripts to ``<remote-dir>/runtime/tools`` (sha256-checked); returns it."""
    dest = posixpath.join(layout.runtime, "tools")
    files = {
        n: (sha256_file(tools / n), (tools / n).stat().st_size) for n in SCRIPTS if (tools / n).is_file()
    }
    upload_files(remote, tools, files, dest)
    try:
        verify_remote(remote, dest, files, consequence="no engine was built")
    except TransferCorrupt:
        upload_files(remote, tools, files, dest)  # a size-equal stale copy: the bad files were removed
        verify_remote(remote, dest, files, consequence="no engine was built")
    return dest


def build_engine(
    remote: Remote, bundle: Bundle, layout: RemoteLayout, remote_bundle: str, backend: str
) -> TrtStatus:
    if backend != "tensorrt":
        return TrtStatus("not-required", f"profile backend is {backend}")
    tools = send_tools(remote, layout)
    argv = [
        "python3",
        posixpath.join(tools, "engine_build.py"),
        "--bundle",
        remote_bundle,
        "--meta-tool",
        posixpath.join(layout.runtime, META_TOOL_REL),
        "--timing-cache-store",  # one timing cache per device, kept across bundles
        posixpath.join(layout.runtime, "timing.cache"),
    ]
    res = remote.run(argv, check=False, timeout=BUILD_TIMEOUT)
    if remote.dry_run:
        return TrtStatus("planned", "trtexec as trt/plan.json says, then edgekit-trt-meta")
    if res.returncode == 127:
        return TrtStatus("failed", f"python3 is missing on {remote.display} — fix: apt-get install python3")
    try:
        out = json.loads(res.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = (res.stderr.strip() or res.stdout.strip()).splitlines()[-1:] or [""]
        return TrtStatus("failed", f"engine_build.py exit {res.returncode}: {tail[0][:300]}")
    state = str(out.get("state", "failed"))
    if state == "built":
        return TrtStatus(
            "built",
            f"{out['engine']} built by trtexec as {PLAN} says ({out.get('seconds')} s), "
            "metadata by edgekit-trt-meta",
            out["engine"],
            _precision(bundle, out["engine"]),
        )
    if state == "absent":
        return TrtStatus("absent", ABSENT)
    return TrtStatus(state if state == "no-plan" else "failed", f"{out.get('error')} — fix: {out.get('fix')}")


def _precision(bundle: Bundle, engine: str) -> str | None:
    plan = json.loads((bundle.root / PLAN).read_text())
    return next((str(e.get("precision")) for e in plan.get("engines", []) if e.get("engine") == engine), None)


def device_engine(
    remote: Remote, remote_bundle: str, bundle: Bundle, model_id: str
) -> tuple[str, str] | None:
    """(engine, precision) when the device has the plan's engine for ``model_id`` with its metadata JSON."""
    p = bundle.root / PLAN
    if not p.is_file():
        return None
    try:
        plan = json.loads(p.read_text())
    except ValueError:
        return None
    for e in plan.get("engines", []):
        if isinstance(e, dict) and e.get("model_id") == model_id and e.get("engine"):
            eng = str(e["engine"])
            if remote.exists(posixpath.join(remote_bundle, eng)) and remote.exists(
                posixpath.join(remote_bundle, eng + ".json")
            ):
                return eng, str(e.get("precision", ""))
    return None
