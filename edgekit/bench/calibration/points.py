"""Load and validate ``points.yaml`` (the calibration set)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from edgekit.bench.calibration import POINTS
from edgekit.errors import InputError

UNITS = ("gpu", "dla")
HARNESSES = ("mlperf", "trtexec", "torch2trt")


@dataclass(frozen=True)
class Point:
    id: str
    device: str
    model: str
    input: tuple[int, int, int]
    batch: int
    precision: str
    unit: str
    ms: float
    harness: str
    source: dict[str, Any]
    conditions: dict[str, str]
    matched: bool
    mismatch: str
    io_reformat: bool = True
    gpu_ops: tuple[str, ...] = ()  # ops the published build log shows on the GPU (overrides the DLA rules)

    @property
    def key(self) -> str:
        """What the features depend on: graph, batch, precision, unit and (DLA) the device's rules."""
        c, h, w = self.input
        dev = f"/{self.device}" if self.unit == "dla" else ""
        return f"{self.model}@{c}x{h}x{w}/b{self.batch}/{self.precision}/{self.unit}{dev}"

    def cite(self) -> str:
        s = self.source
        where = s.get("path") or ""
        row = s.get("row") or ""
        return f"{s.get('repo', '')}:{where}" + (f" [{row}]" if row else "")


@dataclass(frozen=True)
class PointSet:
    version: str
    points: list[Point]


def load(path: Path = POINTS) -> PointSet:
    from edgekit.bench.calibration import zoo
    from edgekit.profiles import get_profile

    data = yaml.safe_load(path.read_text())
    sources = data.get("sources", {})
    out: list[Point] = []
    seen: set[str] = set()
    for raw in data["points"]:
        pid = raw.get("id", "?")
        where = f"calibration point {pid} ({path.name})"
        if pid in seen:
            raise InputError(f"{where}: duplicate id", "give every point its own id")
        seen.add(pid)
        if raw["model"] not in zoo.MODELS:
            raise InputError(
                f"{where}: model '{raw['model']}' cannot be rebuilt",
                "add its architecture to edgekit/bench/calibration/zoo.py or drop the point",
            )
        get_profile(raw["device"])  # unknown device -> ConfigError naming the valid ones
        if raw["unit"] not in UNITS or raw["harness"] not in HARNESSES:
            raise InputError(
                f"{where}: unit/harness '{raw['unit']}/{raw['harness']}' unknown",
                f"use a unit of {UNITS} and a harness of {HARNESSES}",
            )
        if raw["source"] not in sources:
            raise InputError(f"{where}: source '{raw['source']}' not under 'sources'", "add the source")
        if not raw.get("matched", False) and not raw.get("mismatch"):
            raise InputError(f"{where}: unmatched conditions without a 'mismatch' label", "say what differs")
        src = dict(sources[raw["source"]]) | {"id": raw["source"]}
        if raw.get("path"):
            src["path"] = raw["path"]
        if raw.get("row"):
            src["row"] = raw["row"]
        out.append(
            Point(
                id=pid,
                device=raw["device"],
                model=raw["model"],
                input=tuple(raw["input"]),  # type: ignore[arg-type]
                batch=int(raw["batch"]),
                precision=raw["precision"],
                unit=raw["unit"],
                ms=float(raw["ms"]),
                harness=raw["harness"],
                source=src,
                conditions=dict(raw.get("conditions", {})),
                matched=bool(raw.get("matched", False)),
                mismatch=str(raw.get("mismatch", "")),
                io_reformat=bool(raw.get("io_reformat", True)),
                gpu_ops=tuple(raw.get("gpu_ops", ())),
            )
        )
    if not out:
        raise InputError(f"{path} has no calibration points", "a calibration over zero points is a failure")
    return PointSet(str(data["version"]), out)
