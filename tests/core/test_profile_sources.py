"""Every profile value carries a source; DLA peaks are per core; Orin Nano's MAXN SUPER is its own mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edgekit.errors import ConfigError
from edgekit.profiles import all_profiles, configs_dir, get_profile, load_profile_file


def test_every_value_of_every_profile_has_a_source() -> None:
    profiles = all_profiles()
    assert len(profiles) >= 8
    for p in profiles.values():
        keys = p.sourced_keys()
        assert "memory.bandwidth_gbps" in keys and "peak.fp32_gflops" in keys
        for k in keys:
            assert p.sources[k].strip(), (p.name, k)


@pytest.mark.parametrize("key", ["peak.dla_int8_gops", "memory.bandwidth_gbps", "gpu"])
def test_a_value_without_a_source_is_a_validation_error(tmp_path: Path, key: str) -> None:
    data = yaml.safe_load((configs_dir() / "jetson-xavier.yaml").read_text())
    del data["sources"][key]
    p = tmp_path / "jetson-xavier.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_profile_file(p)


def test_dla_peaks_are_per_core() -> None:
    # one core each: AGX Orin 105 sparse TOPS for 2 DLAs -> 26.25 dense per core; AGX Xavier 11.4 for 2
    # -> 5.7;
    # Xavier NX 2048 MACs x 1.1 GHz x 2 = 4.5; Orin NX 40 sparse for 2 -> 10 per core
    expect = {"jetson-orin": 26250, "jetson-xavier": 5700, "jetson-xavier-nx": 4500, "jetson-orin-nx": 10000}
    for name, v in expect.items():
        p = get_profile(name)
        assert p.peak.dla_int8_gops == v
        assert "core" in p.sources["peak.dla_int8_gops"].lower()
    assert get_profile("jetson-xavier-nx").memory.bandwidth_gbps == 51.2


def test_orin_nano_maxn_super_is_a_power_mode_of_its_own() -> None:
    base = get_profile("jetson-orin-nano")
    assert "MAXN SUPER" in base.power_modes and base.memory.bandwidth_gbps == 68
    sup = base.in_mode("MAXN SUPER")
    assert sup.memory.bandwidth_gbps == 102 and sup.peak.int8_gops == 33500
    assert "Super" in sup.sources["memory.bandwidth_gbps"]
    assert base.in_mode(None) is base
    with pytest.raises(ConfigError, match="no power mode 'TURBO'"):
        base.in_mode("TURBO")


def test_devices_name_shows_each_source() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "devices", "jetson-orin"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", **__import__("os").environ},
    )
    assert r.returncode == 0, r.stderr
    assert "peak.dla_int8_gops" in r.stdout and "per core" in r.stdout and "DLA-SW README" in r.stdout


def test_maxn_super_changes_the_estimate(tmp_path: Path) -> None:
    from edgekit.bench.calibration import zoo
    from edgekit.bench.roofline import estimate

    p = zoo.export("tutorial_model_bn", tmp_path / "m.onnx", (1, 3, 32, 32))
    base = get_profile("jetson-orin-nano")
    a = estimate(p, base, "int8")["targets"]["gpu"]
    b = estimate(p, base.in_mode("MAXN SUPER"), "int8")["targets"]["gpu"]
    assert b["bandwidth_gbps"] == 102 and a["bandwidth_gbps"] == 68
    assert b["calibrated"]["total_ms"] < a["calibrated"]["total_ms"]
