from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edgekit.errors import ConfigError
from edgekit.profiles import all_profiles, configs_dir, get_profile, load_profile_file

EXPECTED = {
    "cpu",
    "jetson-nano",
    "jetson-tx2",
    "jetson-xavier-nx",
    "jetson-xavier",
    "jetson-orin-nano",
    "jetson-orin-nx",
    "jetson-orin",
}


def test_every_target_has_a_valid_profile() -> None:
    assert set(all_profiles()) == EXPECTED


def test_facts_match_reference() -> None:
    xav = get_profile("jetson-xavier")
    assert xav.tensorrt is not None and xav.tensorrt.version == "8.5.2"
    assert xav.onnx_opset_max == 17 and xav.dla is not None and xav.dla.generation == 1
    assert xav.tensorrt.cache_tag == "8502" and xav.dla_int8_flavour == "dla_implicit"
    nano = get_profile("jetson-nano")
    assert nano.onnx_opset_max == 13 and "int8" not in nano.precisions and nano.dla is None
    assert get_profile("jetson-tx2").int8_flavour == "none"
    orin = get_profile("jetson-orin")
    assert (
        orin.tensorrt is not None and orin.tensorrt.cache_tag == "100300" and orin.gpu and orin.gpu.sm == 87
    )
    assert get_profile("cpu").int8_flavour == "ort_cpu"


def test_unknown_device_suggests_closest() -> None:
    with pytest.raises(ConfigError) as e:
        get_profile("jetson-xaviar")
    assert "did you mean 'jetson-xavier'" in str(e.value) and "jetson-orin-nano" in str(e.value)


def test_invalid_profile_names_the_field(tmp_path: Path) -> None:
    data = yaml.safe_load((configs_dir() / "jetson-xavier.yaml").read_text())
    data["onnx_opset_max"] = 99
    p = tmp_path / "jetson-xavier.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="onnx_opset_max"):
        load_profile_file(p)
    data["onnx_opset_max"] = 17
    data["unconfirmed"] = ["peak.nonexistent"]
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="peak.nonexistent"):
        load_profile_file(p)


def test_cli_devices_and_unknown_device_exit_code() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "devices", "--json"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and '"jetson-orin-nx"' in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "devices", "jetson-nanoo"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "did you mean 'jetson-nano'" in bad.stderr
