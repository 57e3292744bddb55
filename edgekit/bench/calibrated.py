"""The calibrated latency estimate of one ONNX model on a Jetson unit, with its measured error band.

Parameters and bands come from ``edgekit/bench/calibration/calibration.json`` (fitted on NVIDIA-published
points only: ``python -m edgekit.bench.calibrate --write``). The band beside each figure is the leave-one-out
estimate/published range for that device and unit; a device/unit without a published point gets the band over
all devices for that unit, and says so. Figures assume a C++/trtexec-style harness (no Python overhead).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from edgekit.bench.calibration import CALIBRATION
from edgekit.profiles import DeviceProfile


@lru_cache(maxsize=2)
def _load(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def calibration(path: Path = CALIBRATION) -> dict[str, Any]:
    return _load(str(path))


def band(device: str, unit: str, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """The LOO error band (estimate / published) for ``device``/``unit``: its own, or the unit's over all."""
    doc = doc or calibration()
    own = doc["bands"].get(f"{device}/{unit}")
    if own:
        return own | {"own": True, "basis": f"{own['n']} published point(s) on {device} {unit.upper()}"}
    allu = doc["bands"].get(f"*/{unit}")
    if not allu:
        return {"n": 0, "basis": f"no published {unit.upper()} point: error unknown"}
    return allu | {
        "own": False,
        "basis": f"no published point on {device} {unit.upper()}: band over all devices' "
        f"{allu['n']} {unit.upper()} points",
    }


def band_text(b: dict[str, Any]) -> str:
    if not b.get("n"):
        return "error unknown"
    where = "" if b.get("own") else ", all devices"
    return f"x{b['min']:.2f}–{b['max']:.2f} (median {b['median']:.2f}, n={b['n']}{where})"


def estimate(
    onnx_path: str | Path,
    profile: DeviceProfile,
    precision: str,
    batch: int,
    unit: str,
    placement: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Calibrated total (ms) of ``onnx_path`` on ``unit`` of ``profile``, with band and calibration "
    "version."""
    from edgekit.bench.calibration.features import extract
    from edgekit.bench.calibration.model import Case, Params, breakdown

    doc = calibration()
    if profile.kind != "jetson" or unit not in ("gpu", "dla"):
        return {"available": False, "why": "calibrated on Jetson GPU/DLA points only"}
    feats = extract(
        onnx_path,
        batch,
        precision,
        unit,
        profile,
        placement=dict(placement) if placement is not None else None,
    )
    params = Params.from_dict(doc["params"])
    case = Case(
        feats, profile, "fp16" if unit == "dla" and precision == "fp32" else precision, unit, "trtexec"
    )
    bd = breakdown(case, params)
    b = band(profile.name, unit, doc)
    unfitted = [k for k, s in bd["scales"].items() if not s["fitted"]]
    lo = bd["total_ms"] / b["max"] if b.get("n") else None
    hi = bd["total_ms"] / b["min"] if b.get("n") else None
    return {
        "available": True,
        "total_ms": bd["total_ms"],
        "likely_range_ms": [lo, hi] if lo is not None else None,
        "band": b,
        "band_text": band_text(b),
        "calibration_version": doc["version"],
        "handovers": bd["handovers"],
        "unfitted": unfitted,
        "notes": (
            [
                f"no published point for {', '.join(unfitted)}: the geometric mean of the other devices' "
                "factors is used"
            ]
            if unfitted
            else []
        )
        + [
            "harness: C++/trtexec (the published torch2trt figures carry a fitted Python overhead, not "
            "included here)"
        ],
    }
