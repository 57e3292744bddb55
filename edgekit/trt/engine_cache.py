"""Engines stored with their metadata; a mismatch is refused with the reason and rebuilt, never run.

``<engine>.json`` (e.g. ``trt/student.fp16.dla0.engine.json``) holds at least the keys the C++ runtime reads:
trt_version, compute_capability, precision, dla_core, model_sha256 (plus built_at, platform). dla_core is
null for a GPU engine.
"""

from __future__ import annotations

import json
import platform as _platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgekit.bundle import sha256_file
from edgekit.errors import BundleError, EdgekitError
from edgekit.io import atomic_write_bytes, atomic_write_json

REQUIRED_KEYS = ("trt_version", "compute_capability", "precision", "dla_core", "model_sha256")
META_KEYS = REQUIRED_KEYS + ("built_at", "platform")


class EngineMismatch(EdgekitError):
    """A stored engine that does not match this device, TensorRT or model: refused."""

    exit_code = 1


@dataclass(frozen=True)
class EngineMeta:
    trt_version: str
    compute_capability: str
    precision: str
    dla_core: int | None
    model_sha256: str
    built_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    platform: str = field(default_factory=lambda: f"{_platform.system().lower()}-{_platform.machine()}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DeviceEnv:
    """What the engine must match on the machine that would run it."""

    trt_version: str
    compute_capability: str
    platform: str


def meta_path(engine: str | Path) -> Path:
    e = Path(engine)
    return e.with_name(e.name + ".json")


def read_meta(engine: str | Path) -> EngineMeta:
    p = meta_path(engine)
    if not p.is_file():
        raise BundleError(f"engine metadata {p} is missing", "rebuild the engine from its ONNX")
    try:
        raw = json.loads(p.read_text())
        missing = [k for k in REQUIRED_KEYS if k not in raw]
        if missing:
            raise ValueError(f"missing keys {missing}")
        return EngineMeta(**{k: raw[k] for k in META_KEYS if k in raw})
    except (json.JSONDecodeError, ValueError, TypeError) as exc:
        raise BundleError(
            f"engine metadata {p} is invalid ({exc})", "rebuild the engine from its ONNX"
        ) from exc


def _same_trt(a: str, b: str) -> bool:
    """Engines need the same TensorRT build: compare major.minor.patch (the 4th field is the build)."""
    return a.split(".")[:3] == b.split(".")[:3]


def mismatches(
    meta: EngineMeta,
    env: DeviceEnv,
    model_sha256: str | None = None,
    precision: str | None = None,
    dla_core: int | None | str = "any",
) -> list[str]:
    """Every reason the stored engine must not run here (empty: it may)."""
    why = []
    if not _same_trt(meta.trt_version, env.trt_version):
        why.append(f"built with TensorRT {meta.trt_version}, this device has {env.trt_version}")
    if meta.compute_capability != env.compute_capability:
        why.append(
            f"built for compute capability {meta.compute_capability}, this GPU is {env.compute_capability}"
        )
    if meta.platform != env.platform:
        why.append(f"built on platform {meta.platform}, this is {env.platform}")
    if model_sha256 is not None and meta.model_sha256 != model_sha256:
        why.append("built from a different ONNX (model_sha256 differs)")
    if precision is not None and meta.precision != precision:
        why.append(f"precision {meta.precision}, wanted {precision}")
    if dla_core != "any" and meta.dla_core != dla_core:
        why.append(f"DLA core {meta.dla_core}, wanted {dla_core}")
    return why


def store(engine: str | Path, data: bytes, meta: EngineMeta) -> Path:
    """Write the engine and its metadata atomically (temp files, then rename; metadata last)."""
    e = Path(engine)
    atomic_write_bytes(e, data)
    atomic_write_json(meta_path(e), meta.to_dict())
    return e


def load_or_rebuild(
    engine: str | Path,
    onnx_path: str | Path,
    env: DeviceEnv,
    precision: str,
    dla_core: int | None,
    build: Callable[[], bytes],
    log: Callable[[str], None] = print,
) -> tuple[bytes, bool]:
    """Return (engine bytes, rebuilt). A missing, foreign or stale engine is refused (reason logged) and
    rebuilt from ``onnx_path`` with ``build``; a mismatched engine is never returned."""
    e = Path(engine)
    sha = sha256_file(Path(onnx_path))
    reasons: list[str]
    if not e.is_file():
        reasons = ["no engine stored"]
    else:
        try:
            reasons = mismatches(read_meta(e), env, sha, precision, dla_core)
        except BundleError as exc:
            reasons = [exc.message]
    if not reasons:
        return e.read_bytes(), False
    log(f"refusing engine {e.name}: {'; '.join(reasons)} — rebuilding from {Path(onnx_path).name}")
    data = build()
    store(
        e,
        data,
        EngineMeta(env.trt_version, env.compute_capability, precision, dla_core, sha, platform=env.platform),
    )
    return data, True


def refuse_if_mismatched(engine: str | Path, env: DeviceEnv, model_sha256: str | None = None) -> EngineMeta:
    """For runners: raise EngineMismatch naming every reason; return the metadata when it matches."""
    meta = read_meta(engine)
    why = mismatches(meta, env, model_sha256)
    if why:
        raise EngineMismatch(
            f"engine {Path(engine).name} refused: {'; '.join(why)}",
            "rebuild it on this device: edgekit engine build BUNDLE",
        )
    return meta
