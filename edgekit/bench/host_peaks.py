"""This host's measured CPU peaks, cached per CPU (model name + ISA flags), for ``edgekit bench``'s roofline
estimate and fraction of peak.

The ``cpu`` profile's peaks were measured on one host (AMD Zen 3, AVX2, no VNNI); another CPU (an Intel
AVX-512 VNNI Xeon runs ORT's INT8 kernels much faster) then showed 120-180 % "of peak". So bench measures
the host it runs on once (``python -m edgekit.bench.peak --json`` in a child process: one thread, nothing
else of edgekit's in it) and caches the result in ``$EDGEKIT_CACHE_DIR/host-peaks/<key>.json`` (default
``~/.cache/edgekit``), keyed by the CPU model and the flags that select kernels. A new CPU gets a new key.

A fraction of peak above 1 is a bug (the peak is not this host's, or was measured under load): it is never
reported; :func:`fraction_of_peak` raises and bench reports why instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.profiles import DeviceProfile, MemorySpec, PeakSpec

# ISA flags that change which GEMM / INT8 kernels ONNX Runtime and numpy's BLAS pick
KERNEL_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "asimd",
    "asimddp",
    "i8mm",
    "sve",
)


class PeakExceededError(EdgekitError):
    """A measured rate above the host's peak: the peak is wrong for this host."""


@dataclass(frozen=True)
class HostPeaks:
    cpu: str
    flags: list[str]
    key: str
    fp32_gflops: float
    int8_gops: float
    bandwidth_gbps: float
    measured_at: str
    raw: dict[str, float]
    load_avg: float = 0.0  # 1-minute load average while measuring
    cached: bool = True  # False: measured under load, used for this run only

    @property
    def source(self) -> str:
        where = "" if self.cached else f"; under load {self.load_avg:.1f}: not cached, re-measured next run"
        return f"measured on this host ({self.cpu}; {self.measured_at}; python -m edgekit.bench.peak{where})"


def cpu_identity(cpuinfo: str | None = None) -> tuple[str, list[str]]:
    """(model name, the KERNEL_FLAGS it has) from /proc/cpuinfo text."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    name, flags = "unknown CPU", set[str]()
    for line in cpuinfo.splitlines():
        key, _, val = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and name == "unknown CPU":
            name = val.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(val.split())
    return name, sorted(f for f in KERNEL_FLAGS if f in flags)


def cache_key(cpu: str, flags: list[str]) -> str:
    return hashlib.sha256(f"{cpu}|{' '.join(sorted(flags))}".encode()).hexdigest()[:16]


def cache_dir() -> Path:
    env = os.environ.get("EDGEKIT_CACHE_DIR")
    base = Path(env) if env and env != "off" else Path.home() / ".cache" / "edgekit"
    return base / "host-peaks"


def from_measurement(raw: dict[str, float], cpu: str, flags: list[str]) -> HostPeaks:
    """The peaks bench uses: fp32 = the faster of numpy sgemm and ORT MatMul; int8 = ORT MatMulInteger."""
    return HostPeaks(
        cpu=cpu,
        flags=flags,
        key=cache_key(cpu, flags),
        fp32_gflops=max(raw["numpy_sgemm_gflops"], raw["ort_matmul_fp32_gflops"]),
        int8_gops=raw["ort_matmul_integer_gops"],
        bandwidth_gbps=raw["copy_gbps"],
        measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        raw=raw,
    )


def _measure_child() -> dict[str, float]:
    r = subprocess.run(
        [sys.executable, "-m", "edgekit.bench.peak", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
    )
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise EdgekitError(f"measuring this host's peaks failed: {tail}", "run python -m edgekit.bench.peak")
    return {k: float(v) for k, v in json.loads(r.stdout).items()}


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def host_peaks(refresh: bool = False, cpuinfo: str | None = None) -> HostPeaks:
    """This host's peaks from the cache, measuring (about 10 s, once per CPU) when absent or ``refresh``."""
    cpu, flags = cpu_identity(cpuinfo)
    path = cache_dir() / f"{cache_key(cpu, flags)}.json"
    if not refresh and path.is_file():
        try:
            d = json.loads(path.read_text())
            return HostPeaks(**{k: d[k] for k in HostPeaks.__dataclass_fields__ if k in d})
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is measured again
    load0 = _load()
    raw = _measure_child()
    load = max(load0, _load())
    peaks = from_measurement(raw, cpu, flags)
    # a host busier than its CPU count gives peaks far below the real ones: use them now, never cache them
    busy = load > (os.cpu_count() or 1)
    peaks = dataclasses.replace(peaks, load_avg=load, cached=not busy)
    if busy:
        return peaks
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(asdict(peaks), indent=2) + "\n")
    os.replace(tmp, path)
    return peaks


def calibrated_profile(base: DeviceProfile, peaks: HostPeaks) -> DeviceProfile:
    """``base`` (the ``cpu`` profile) with this host's peaks and bandwidth, nothing else changed."""
    return base.model_copy(
        update={
            "peak": PeakSpec(fp32_gflops=peaks.fp32_gflops, int8_gops=peaks.int8_gops),
            "memory": MemorySpec(size_gb=base.memory.size_gb, bandwidth_gbps=peaks.bandwidth_gbps),
            "unconfirmed": [
                u
                for u in base.unconfirmed
                if u not in ("peak.fp32_gflops", "peak.int8_gops", "memory.bandwidth_gbps")
            ],
        }
    )


def fraction_of_peak(achieved: float, peak: float) -> float:
    """``achieved / peak``; above 1 raises PeakExceededError (never a figure above 100 %)."""
    if peak <= 0:
        raise PeakExceededError(f"peak {peak:g} is not positive", "re-measure: python -m edgekit.bench.peak")
    frac = achieved / peak
    if frac > 1.0:
        raise PeakExceededError(
            f"achieved {achieved:.1f} GOP/s exceeds this host's peak {peak:.1f} ({frac * 100:.0f} %): "
            "the peak "
            "is not this host's or was measured under load",
            "re-measure with `edgekit bench --refresh-peaks` on a quiet host",
        )
    return frac
