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
# TensorRT releases edgekit targets that still have implicit INT8 (calibration caches): JetPack 4.6 (8.2.1),
# JetPack 5 (8.4.1, 8.5.2), JetPack 6.0 (8.6.2), JetPack 6.1/6.2 (10.3.0) and the public header sets (8.2.3,
# 8.6.1). TensorRT 11 removed implicit INT8 (no IInt8Calibrator in its NvInfer.h): no cache is valid there.
KNOWN_VERSIONS = ("8.2.1", "8.2.3", "8.4.1", "8.5.2", "8.6.1", "8.6.2", "10.3.0")
ALGORITHMS = ("EntropyCalibration2", "EntropyCalibration", "MinMaxCalibration", "LegacyCalibration")


def tag_of(version: str) -> str:
    """The number TensorRT writes in a cache header: 8.5.2 -> 8502, 10.3.0 -> 100300."""
    v = tuple(int(p) for p in version.split(".")) + (0, 0)
    return f"{v[0]}{v[1]}{v[2]:02d}" if v[0] < 10 else f"{v[0]}{v[1]:02d}{v[2]:02d}"


KNOWN_TAGS = {tag_of(v): v for v in KNOWN_VERSIONS}


def version_of_tag(tag: str, where: str = "calibration cache") -> str:
    """The TensorRT version a header tag names, or an InputError for a tag no known release writes."""
    if tag in KNOWN_TAGS:
        return KNOWN_TAGS[tag]
    known = ", ".join(f"{t} ({v})" for t, v in KNOWN_TAGS.items())
    why = "TensorRT 11 removed implicit INT8, so it has no calibration caches; " if tag[:2] == "11" else ""
    raise InputError(
        f"{where} header names TensorRT tag {tag}, which is no TensorRT release edgekit knows "
        f"({why}known: {known})",
        "regenerate the cache for the device's TensorRT: "
        "edgekit engine translate QDQ.onnx --device <jetson profile>",
    )


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
    version_of_tag(m.group(1), where)
    if m.group(2) not in ALGORITHMS:
        raise InputError(
            f"{where} header names calibration algorithm '{m.group(2)}', which TensorRT does not write "
            f"(known: {', '.join(ALGORITHMS)})",
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


def check_tensors(cache: CalibCache, model_tensors: set[str], where: str = "calibration cache") -> None:
    """Refuse a cache that names tensors the model lacks (a cache for another model or another export):
    TensorRT would silently ignore those scales and calibrate nothing for the real tensors."""
    if not cache.scales:
        raise InputError(f"{where} has no tensor scales", "regenerate the calibration cache")
    ghosts = sorted(t for t in cache.scales if t not in model_tensors)
    if ghosts:
        shown = ", ".join(ghosts[:5]) + (f" and {len(ghosts) - 5} more" if len(ghosts) > 5 else "")
        raise InputError(
            f"{where} names {len(ghosts)} tensor(s) the model does not have: {shown}",
            "regenerate the cache from this model (edgekit engine translate on the model's Q/DQ export)",
        )


def read(path: str | Path) -> CalibCache:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"calibration cache {p} does not exist", "pass the .cache file the translator wrote")
    return parse(p.read_text(errors="replace"), str(p))
