"""TensorRT calibration caches (IInt8EntropyCalibrator2 text format): write, read, round trip.

Format (NVIDIA's own writer, e.g. Deep-Learning-Accelerator-SW qdq-translator ``utils.float_to_hex``):
line 1 ``TRT-<tag>-EntropyCalibration2`` (tag 8502 for 8.5.2, 100300 for 10.3.0); then ``<tensor>: <hex>``
per tensor, hex = the float32 scale's IEEE-754 bits as a big-endian hex integer, not zero-padded.
scale = amax / 127. Example: ``3c00f9f4`` -> 0.007872 -> amax ~ 1.0.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.errors import InputError
from edgekit.io import atomic_write_text

ALGO = "EntropyCalibration2"
_HEADER = re.compile(r"^TRT-(\d+)-(\w+)$")


def float_to_hex(value: float) -> str:
    return format(struct.unpack(">I", struct.pack(">f", value))[0], "x")


def hex_to_float(text: str) -> float:
    v = int(text, 16)
    if v > 0xFFFFFFFF:
        raise ValueError(f"'{text}' is longer than 32 bits")
    return float(struct.unpack(">f", struct.pack(">I", v))[0])


@dataclass
class CalibCache:
    tag: str
    scales: dict[str, float] = field(default_factory=dict)
    algorithm: str = ALGO

    @property
    def header(self) -> str:
        return f"TRT-{self.tag}-{self.algorithm}"

    def amax(self, tensor: str) -> float:
        return self.scales[tensor] * 127.0

    def dumps(self) -> str:
        return "\n".join([self.header] + [f"{k}: {float_to_hex(v)}" for k, v in self.scales.items()]) + "\n"

    def write(self, path: str | Path) -> Path:
        p = Path(path)
        atomic_write_text(p, self.dumps())
        return p


def from_amax(tag: str, amax: dict[str, float]) -> CalibCache:
    return CalibCache(tag, {k: float(v) / 127.0 for k, v in amax.items()})


def parse(text: str, where: str = "calibration cache") -> CalibCache:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines or not (m := _HEADER.match(lines[0])):
        raise InputError(
            f"{where} has no 'TRT-<version>-<algorithm>' header line",
            "pass a cache written by TensorRT or edgekit.trt.calib_cache",
        )
    cache = CalibCache(m.group(1), algorithm=m.group(2))
    for i, ln in enumerate(lines[1:], start=2):
        name, sep, hexv = ln.rpartition(":")
        try:
            if not sep or not name:
                raise ValueError("no 'name: hex'")
            cache.scales[name.strip()] = hex_to_float(hexv.strip())
        except ValueError as exc:
            raise InputError(
                f"{where} line {i} is not 'tensor: hex' ({exc})", "regenerate the calibration cache"
            ) from exc
    return cache


def read(path: str | Path) -> CalibCache:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"calibration cache {p} does not exist", "pass the .cache file the translator wrote")
    return parse(p.read_text(errors="replace"), str(p))
