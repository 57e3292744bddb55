"""TensorRT calibration cache: NVIDIA's text format, known values, round trip, bad input."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from edgekit.errors import InputError
from edgekit.profiles import get_profile
from edgekit.trt.calib_cache import CalibCache, float_to_hex, from_amax, hex_to_float, parse, read

# A cache as TensorRT 8.5 writes it (values are IEEE-754 float32 scales, big-endian hex, no zero padding).
NVIDIA_STYLE = """TRT-8502-EntropyCalibration2
input: 3c00f9f4
conv1/Conv_output_0: 3d29f366
(Unnamed Layer* 5) [Shuffle]_output: 3c010204
logits: 3f800000
"""


def test_known_values() -> None:
    assert hex_to_float("3c00f9f4") == pytest.approx(0.007872, abs=5e-7)
    assert hex_to_float("3c00f9f4") * 127 == pytest.approx(1.0, abs=3e-4)  # amax ~ 1.0
    assert float_to_hex(1 / 127) == "3c010204"
    assert float_to_hex(1.0) == "3f800000"
    assert float_to_hex(2.0**-130) == "80000"  # NVIDIA style: not zero-padded
    assert from_amax("8502", {"t": 1.0}).dumps().splitlines()[1] == "t: 3c010204"


def test_header_tag_from_profile() -> None:
    assert (
        CalibCache(get_profile("jetson-xavier").tensorrt.cache_tag).header == "TRT-8502-EntropyCalibration2"
    )  # type: ignore[union-attr]
    assert (
        CalibCache(get_profile("jetson-orin").tensorrt.cache_tag).header == "TRT-100300-EntropyCalibration2"
    )  # type: ignore[union-attr]


def test_parse_nvidia_style_and_round_trip(tmp_path: Path) -> None:
    c = parse(NVIDIA_STYLE)
    assert c.tag == "8502" and c.algorithm == "EntropyCalibration2"
    assert list(c.scales) == ["input", "conv1/Conv_output_0", "(Unnamed Layer* 5) [Shuffle]_output", "logits"]
    assert c.scales["logits"] == 1.0
    assert c.dumps() == NVIDIA_STYLE  # byte-identical round trip
    p = c.write(tmp_path / "x.cache")
    assert read(p).scales == c.scales


def test_float32_values_round_trip_exactly() -> None:
    rng = np.random.default_rng(0)
    vals = rng.uniform(1e-6, 10, 200).astype(np.float32)
    c = CalibCache("8502", {f"t{i}": float(v) for i, v in enumerate(vals)})
    back = parse(c.dumps())
    for i, v in enumerate(vals):
        assert struct.pack(">f", back.scales[f"t{i}"]) == struct.pack(">f", v)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "header"),
        ("input: 3c00f9f4\n", "header"),
        ("TRT-8502-EntropyCalibration2\ninput 3c00f9f4\n", "line 2"),
        ("TRT-8502-EntropyCalibration2\ninput: zz\n", "line 2"),
        ("TRT-8502-EntropyCalibration2\ninput: 1234567890\n", "line 2"),
    ],
)
def test_bad_caches_are_input_errors(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse(text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read(tmp_path / "none.cache")


@pytest.mark.parametrize("tag", ["9999", "8503", "110100", "100301"])
def test_unknown_tensorrt_tag_is_refused(tag: str) -> None:
    with pytest.raises(InputError, match=f"TensorRT tag {tag}, which is no TensorRT release"):
        parse(NVIDIA_STYLE.replace("8502", tag, 1))


def test_tensorrt_11_tag_says_implicit_int8_is_gone() -> None:
    with pytest.raises(InputError, match="TensorRT 11 removed implicit INT8"):
        parse(NVIDIA_STYLE.replace("8502", "110100", 1))


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(InputError, match="algorithm 'EntropyCalibration3'"):
        parse(NVIDIA_STYLE.replace("EntropyCalibration2", "EntropyCalibration3"))


def test_every_jetson_profile_tag_is_known() -> None:
    from edgekit.profiles import all_profiles
    from edgekit.trt.calib_cache import KNOWN_TAGS, version_of_tag

    tags = {p.tensorrt.cache_tag for p in all_profiles().values() if p.tensorrt is not None}
    assert tags and tags <= set(KNOWN_TAGS)
    assert version_of_tag("8201") == "8.2.1" and version_of_tag("100300") == "10.3.0"


def test_cache_naming_tensors_the_model_lacks_is_refused() -> None:
    from edgekit.trt.calib_cache import check_tensors

    c = parse(NVIDIA_STYLE)
    check_tensors(c, set(c.scales) | {"other"})  # a subset of the model's tensors is fine
    with pytest.raises(InputError, match="names 1 tensor\\(s\\) the model does not have: logits"):
        check_tensors(c, set(c.scales) - {"logits"})
    with pytest.raises(InputError, match="no tensor scales"):
        check_tensors(CalibCache("8502"), {"x"})
