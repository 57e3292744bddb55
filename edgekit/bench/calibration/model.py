"""The calibrated latency model and its fit on the published points.

Per layer j of an engine on device d at precision p (unit u = where the layer runs):

    compute = 2 x MACs / peak(d, u, p)            memory = bytes / bandwidth(d)
    t_j = softmax4(compute / eff[u, kind], memory / (mem[u] x (eff[u, kind] if kind is pool/eltwise else 1)))
          / scale[d, u, p] + layer_us[u]

    total = run_us[unit] + harness_us[harness] + sum_j t_j + sum_handovers (handover_us + 2 x bytes / bw)

(softmax4(a, b) = (a^4 + b^4)^(1/4), a smooth roofline max.) Peaks and bandwidth are the device profile's
(per DLA core). ``eff`` is the achieved efficiency per layer kind and unit, ``scale`` per device, unit and
precision, ``mem`` the achieved share of the bandwidth; fixed costs per layer, per run and per GPU<->DLA
hand-over are in microseconds. A device/unit/precision without a published point gets the geometric mean
of the fitted scales of that unit (stated in the estimate's assumptions).

The fit minimises the squared log error over the points plus a weak pull of every log-parameter towards its
prior (``PRIOR``, ``RIDGE``), with scipy's least_squares; leave-one-out refits without each point in turn.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgekit.bench.calibration.features import KINDS, Features
from edgekit.profiles import DeviceProfile

UNITS = ("gpu", "dla")
MEM_KINDS = ("pool", "eltwise")
RIDGE = 0.1  # chosen among 0.01, 0.03, 0.1, 0.3, 1.0 by the leave-one-out error (so LOO is mildly optimistic)
PRIOR: dict[str, float] = {
    **{f"eff/{u}/{k}": v for u in UNITS for k, v in zip(KINDS, (0.6, 0.5, 0.1, 0.5, 0.5, 0.5), strict=True)},
    "mem/gpu": 0.7,
    "mem/dla": 0.7,
    "layer_us/gpu": 5.0,
    "layer_us/dla": 20.0,
    "run_us/gpu": 30.0,
    "run_us/dla": 50.0,
    "handover_us": 50.0,
    "harness_us/torch2trt": 200.0,
}
HARNESS_FREE = ("mlperf", "trtexec")  # the reference harnesses: no extra fixed cost
FIXED_BOUNDS = (0.05, 5000.0)  # microseconds
EFF_BOUNDS = (1e-3, 2.0)
SCALE_BOUNDS = (0.05, 20.0)


def peak_gops(profile: DeviceProfile, unit: str, precision: str) -> float:
    if unit == "dla":
        prec = "fp16" if precision == "fp32" else precision
        v = profile.peak.for_precision(prec, dla=True)  # type: ignore[arg-type]
    else:
        v = profile.peak.for_precision(precision)  # type: ignore[arg-type]
    if v is None:
        raise ValueError(f"profile {profile.name} has no {unit} peak for {precision}")
    return float(v)


def scale_key(device: str, unit: str, precision: str) -> str:
    return f"scale/{device}/{unit}/{'fp16' if unit == 'dla' and precision == 'fp32' else precision}"


def lfix_key(device: str, unit: str) -> str:
    """Per-device multiplier of the unit's per-layer fixed cost (launch/sync overhead differs by SoC)."""
    return f"lfix/{device}/{unit}"


@dataclass
class Case:
    """One engine to predict: its features plus device, precision, run unit and harness."""

    features: Features
    profile: DeviceProfile
    precision: str
    unit: str
    harness: str = "trtexec"

    def scale_keys(self) -> set[str]:
        return {scale_key(self.profile.name, u, self.precision) for _, u, _, _ in self.features.layers}


@dataclass
class Params:
    values: dict[str, float]
    fallback_scale: dict[str, float] = field(default_factory=dict)  # unit -> geometric mean

    def scale(self, key: str) -> tuple[float, bool]:
        """(value, fitted?) for a per-device ``scale/...`` or ``lfix/...`` key; an unfitted key takes the
        geometric mean of the fitted keys of its family and unit."""
        if key in self.values:
            return self.values[key], True
        fam, unit = key.split("/")[0], key.split("/")[2]
        return self.fallback_scale.get(f"{fam}/{unit}", 1.0), False

    def to_dict(self) -> dict[str, Any]:
        return {"values": dict(sorted(self.values.items())), "fallback_scale": self.fallback_scale}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Params:
        return cls(
            {k: float(v) for k, v in d["values"].items()},
            {k: float(v) for k, v in d.get("fallback_scale", {}).items()},
        )


class _Packed:
    """All layers of all cases in flat arrays, so one prediction is a handful of numpy calls."""

    def __init__(self, cases: list[Case]) -> None:
        self.n = len(cases)
        idx, comp, mem, kind_i, unit_i, skey, lkey = [], [], [], [], [], [], []
        self.skeys: list[str] = []
        hand_ms: list[float] = []
        hand_n: list[int] = []
        self.run_unit = np.array([UNITS.index(c.unit) for c in cases])
        self.harness = [c.harness for c in cases]
        for i, c in enumerate(cases):
            bw = c.profile.memory.bandwidth_gbps
            for kind, u, macs, nbytes in c.features.layers:
                idx.append(i)
                comp.append(2.0 * macs / (peak_gops(c.profile, u, c.precision) * 1e9) * 1e3)
                mem.append(nbytes / (bw * 1e9) * 1e3)
                kind_i.append(KINDS.index(kind))
                unit_i.append(UNITS.index(u))
                for k in (scale_key(c.profile.name, u, c.precision), lfix_key(c.profile.name, u)):
                    if k not in self.skeys:
                        self.skeys.append(k)
                skey.append(self.skeys.index(scale_key(c.profile.name, u, c.precision)))
                lkey.append(self.skeys.index(lfix_key(c.profile.name, u)))
            hand_ms.append(sum(2.0 * b / (bw * 1e9) * 1e3 for b in c.features.handovers))
            hand_n.append(len(c.features.handovers))
        self.idx = np.array(idx, dtype=np.int64)
        self.comp = np.array(comp)
        self.mem = np.array(mem)
        self.kind = np.array(kind_i)
        self.unit = np.array(unit_i)
        self.skey = np.array(skey)
        self.lkey = np.array(lkey)
        self.hand_ms = np.array(hand_ms)
        self.hand_n = np.array(hand_n, dtype=float)
        self.memkind = np.isin(self.kind, [KINDS.index(k) for k in MEM_KINDS])

    def predict(self, p: Params) -> np.ndarray:
        v = p.values
        eff = np.array([[v[f"eff/{u}/{k}"] for k in KINDS] for u in UNITS])[self.unit, self.kind]
        memf = np.array([v[f"mem/{u}"] for u in UNITS])[self.unit] * np.where(self.memkind, eff, 1.0)
        per = np.array([p.scale(k)[0] for k in self.skeys])
        a = self.comp / eff
        b = self.mem / memf
        t = (a**4 + b**4) ** 0.25 / per[self.skey] + per[self.lkey] * np.array(
            [v[f"layer_us/{u}"] for u in UNITS]
        )[self.unit] / 1e3
        total: np.ndarray = np.bincount(self.idx, weights=t, minlength=self.n).astype(np.float64)
        total += np.array([v[f"run_us/{u}"] for u in UNITS])[self.run_unit] / 1e3
        total += (
            np.array([0.0 if h in HARNESS_FREE else v.get(f"harness_us/{h}", 0.0) for h in self.harness])
            / 1e3
        )
        total += self.hand_n * v["handover_us"] / 1e3 + self.hand_ms / v["mem/gpu"]
        return total


def _with_fallback(values: dict[str, float]) -> Params:
    fb = {}
    for fam in ("scale", "lfix"):
        for u in UNITS:
            logs = [
                math.log(x) for k, x in values.items() if k.startswith(fam + "/") and k.split("/")[2] == u
            ]
            fb[f"{fam}/{u}"] = math.exp(sum(logs) / len(logs)) if logs else 1.0
    return Params(values, fb)


def _bounds(name: str) -> tuple[float, float]:
    if "_us" in name:
        return FIXED_BOUNDS
    if name.startswith(("scale/", "lfix/")):
        return SCALE_BOUNDS
    return EFF_BOUNDS


def fit(cases: list[Case], measured: list[float], start: Params | None = None) -> Params:
    from scipy.optimize import least_squares

    packed = _Packed(cases)
    names = list(PRIOR) + sorted(set(packed.skeys))
    prior = np.array([math.log(PRIOR.get(n, 1.0)) for n in names])
    lo = np.array([math.log(_bounds(n)[0]) for n in names])
    hi = np.array([math.log(_bounds(n)[1]) for n in names])
    x0 = prior.copy()
    if start is not None:
        x0 = np.array([math.log(start.values.get(n, PRIOR.get(n, 1.0))) for n in names])
    x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)
    y = np.log(np.array(measured))
    w = math.sqrt(RIDGE)

    def resid(x: np.ndarray) -> np.ndarray:
        p = Params(dict(zip(names, np.exp(x).tolist(), strict=True)))
        return np.concatenate([np.log(packed.predict(p)) - y, w * (x - prior)])

    sol = least_squares(
        resid, x0, bounds=(lo, hi), method="trf", x_scale=1.0, xtol=1e-10, ftol=1e-10, max_nfev=4000
    )
    return _with_fallback(dict(zip(names, np.exp(sol.x).tolist(), strict=True)))


def predict(cases: list[Case], p: Params) -> np.ndarray:
    return _Packed(cases).predict(p)


def breakdown(case: Case, p: Params) -> dict[str, Any]:
    """Total and its parts for one engine (per-layer ms, fixed costs, hand-overs), for the estimate."""
    packed = _Packed([case])
    v = p.values
    eff = np.array([[v[f"eff/{u}/{k}"] for k in KINDS] for u in UNITS])[packed.unit, packed.kind]
    memf = np.array([v[f"mem/{u}"] for u in UNITS])[packed.unit] * np.where(packed.memkind, eff, 1.0)
    scales = [p.scale(k) for k in packed.skeys]
    per = np.array([s for s, _ in scales])
    layer_ms = ((packed.comp / eff) ** 4 + (packed.mem / memf) ** 4) ** 0.25 / per[packed.skey] + per[
        packed.lkey
    ] * np.array([v[f"layer_us/{u}"] for u in UNITS])[packed.unit] / 1e3
    total = float(packed.predict(p)[0])
    return {
        "total_ms": total,
        "layers_ms": layer_ms.tolist(),
        "run_ms": v[f"run_us/{case.unit}"] / 1e3,
        "harness_ms": 0.0 if case.harness in HARNESS_FREE else v.get(f"harness_us/{case.harness}", 0.0) / 1e3,
        "handovers": len(case.features.handovers),
        "handover_ms": float(packed.hand_n[0] * v["handover_us"] / 1e3 + packed.hand_ms[0] / v["mem/gpu"]),
        "scales": {k: {"value": s, "fitted": f} for k, (s, f) in zip(packed.skeys, scales, strict=True)},
    }


def params_hash(p: Params) -> str:
    return hashlib.sha256(json.dumps(p.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
