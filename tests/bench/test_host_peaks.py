"""Host-calibrated CPU peaks (issue 14 item 9): keyed by CPU model + flags, cached, used for bench's estimate
and fraction of peak; a fraction above 100 % is refused. Fixed numbers throughout: no timing of the host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit.bench import host_peaks as hp

AMD = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse4_2 avx avx2 fma f16c\n"
INTEL = (
    "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\n"
    "flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni amx_tile\n"
)
RAW = {
    "numpy_sgemm_gflops": 87.0,
    "ort_matmul_fp32_gflops": 81.0,
    "ort_matmul_integer_gops": 132.0,
    "copy_gbps": 27.0,
    "threads": 1.0,
}


def test_fraction_rule_on_fixed_numbers() -> None:
    assert hp.fraction_of_peak(50.0, 100.0) == 0.5
    assert hp.fraction_of_peak(100.0, 100.0) == 1.0
    with pytest.raises(hp.PeakExceededError) as ei:
        hp.fraction_of_peak(150.0, 100.0)  # the Intel-VNNI-host-on-AMD-peaks case: 150 %
    assert "150 %" in ei.value.message and "--refresh-peaks" in (ei.value.fix or "")
    with pytest.raises(hp.PeakExceededError):
        hp.fraction_of_peak(1.0, 0.0)


def test_identity_and_key_follow_model_and_flags() -> None:
    amd, amd_flags = hp.cpu_identity(AMD)
    intel, intel_flags = hp.cpu_identity(INTEL)
    assert amd == "AMD EPYC 7B13" and "avx512_vnni" not in amd_flags and "avx2" in amd_flags
    assert "avx512_vnni" in intel_flags and "amx_tile" in intel_flags
    assert hp.cache_key(amd, amd_flags) != hp.cache_key(intel, intel_flags)
    assert hp.cache_key(amd, amd_flags) != hp.cache_key(amd, [*amd_flags, "avx512f"])  # same model, other ISA


def test_cache_is_used_and_keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path))
    calls: list[int] = []

    def fake_measure() -> dict[str, float]:
        calls.append(1)
        return dict(RAW)

    monkeypatch.setattr(hp, "_measure_child", fake_measure)
    monkeypatch.setattr(hp, "_load", lambda: 0.5)
    first = hp.host_peaks(cpuinfo=AMD)
    assert (
        calls == [1]
        and first.fp32_gflops == 87.0
        and first.int8_gops == 132.0
        and first.bandwidth_gbps == 27.0
    )
    again = hp.host_peaks(cpuinfo=AMD)
    assert calls == [1] and again == first  # from the cache, not measured again
    path = tmp_path / "host-peaks" / f"{first.key}.json"
    assert json.loads(path.read_text())["cpu"] == "AMD EPYC 7B13"
    hp.host_peaks(cpuinfo=INTEL)
    assert calls == [1, 1]  # another CPU: measured, its own entry
    hp.host_peaks(cpuinfo=AMD, refresh=True)
    assert calls == [1, 1, 1]
    path.write_text("{broken")
    hp.host_peaks(cpuinfo=AMD)
    assert calls == [1, 1, 1, 1]  # a damaged entry is measured again


def test_calibrated_profile_replaces_only_peaks() -> None:
    from edgekit.profiles import get_profile

    base = get_profile("cpu")
    peaks = hp.from_measurement({**RAW, "ort_matmul_integer_gops": 400.0}, "Intel X", ["avx512_vnni"])
    prof = hp.calibrated_profile(base, peaks)
    assert (
        prof.peak.int8_gops == 400.0 and prof.peak.fp32_gflops == 87.0 and prof.memory.bandwidth_gbps == 27.0
    )
    assert (
        prof.memory.size_gb == base.memory.size_gb
        and prof.name == "cpu"
        and prof.precisions == base.precisions
    )
    assert "peak.int8_gops" not in prof.unconfirmed


def test_bench_row_never_shows_more_than_100_percent(tiny_bundle: Path) -> None:
    """_add_estimate on fixed latencies: a run faster than the peak allows gets no fraction, and why."""
    from edgekit import bundle as B
    from edgekit.bench.measure import _add_estimate

    b = B.load(tiny_bundle)
    host = {
        "peak": {"fp32_gflops": 10.0, "int8_gops": 20.0, "bandwidth_gbps": 5.0, "source": "fixed test peaks"}
    }
    slow = {"model_id": "student_fp32", "batch": 1, "latency_ms": {"p50": 10.0, "min": 10.0}}
    _add_estimate(b, slow, {"fp32": 10.0, "int8": 20.0}, host)
    # 290080 MACs: 2 * 290080 / 10 ms = 0.058 GOP/s of a 10 GOP/s peak
    assert slow["fraction_of_peak"] == pytest.approx(2 * 290080 / 0.010 / 1e9 / 10.0)
    assert slow["estimate_ms"] > 0
    fast = {"model_id": "student_fp32", "batch": 1, "latency_ms": {"p50": 1e-5, "min": 1e-5}}
    _add_estimate(b, fast, {"fp32": 10.0, "int8": 20.0}, host)  # 58000 GOP/s "achieved": impossible
    assert fast["fraction_of_peak"] is None and "exceeds this host's peak" in fast["fraction_of_peak_error"]


def test_busy_host_measurement_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(hp, "_measure_child", lambda: dict(RAW))
    monkeypatch.setattr(hp, "_load", lambda: 40.0)  # far more runnable processes than CPUs
    p = hp.host_peaks(cpuinfo=AMD)
    assert not p.cached and "not cached" in p.source and not (tmp_path / "host-peaks").exists()
    monkeypatch.setattr(hp, "_load", lambda: 0.1)
    assert hp.host_peaks(cpuinfo=AMD).cached and (tmp_path / "host-peaks" / f"{p.key}.json").is_file()
