"""Issue 13 item 6: the decoder checks the header's size before decoding (64 megapixels unless
EDGEKIT_MAX_IMAGE_PIXELS raises it), in Python here and in C++ (cpp_runtime/tests/test_contract.cpp)."""

from __future__ import annotations

import resource

import cv2
import numpy as np
import pytest

from edgekit.contract import MAX_IMAGE_PIXELS_DEFAULT, MAX_IMAGE_PIXELS_ENV
from edgekit.errors import InputError
from edgekit.preprocess import mnist_spec, run
from edgekit.preprocess.image_header import header_size
from tests.contract.bigimage import zero_png


def _jpeg(w: int, h: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.zeros((h, w), np.uint8))
    assert ok
    return buf.tobytes()


def test_a_389kb_png_of_20000x20000_is_refused_before_decoding() -> None:
    png = zero_png(20000, 20000)
    assert len(png) < 400_000  # the 389 KB file; it decodes to 1.2 GB in colour
    assert header_size(png) == (20000, 20000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(
        InputError, match=r"is 20000x20000 = 400\.0 megapixels, more than the limit of 64 megapixels"
    ):
        run(mnist_spec(), png)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"the process grew {grown_mb:.0f} MB: it decoded"


def test_a_real_jpeg_just_over_the_limit_is_refused_and_names_the_setting() -> None:
    jpg = _jpeg(8001, 8000)  # 64.008 MP
    assert header_size(jpg) == (8001, 8000)
    with pytest.raises(InputError) as exc:
        run(mnist_spec(), jpg)
    msg = str(exc.value)
    assert "\n" not in msg and "[image.too_large]" in msg and f"{MAX_IMAGE_PIXELS_ENV}=64008000" in msg


def test_the_setting_raises_and_lowers_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    small = zero_png(100, 100)
    run(mnist_spec(), small)  # 10 kP: fine by default
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, "9999")
    with pytest.raises(InputError, match="more than the limit"):
        run(mnist_spec(), small)
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, "10000")
    run(mnist_spec(), small)
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, "lots")
    with pytest.raises(InputError, match=f"{MAX_IMAGE_PIXELS_ENV}='lots' is not a positive integer"):
        run(mnist_spec(), small)
    assert MAX_IMAGE_PIXELS_DEFAULT == 64_000_000


@pytest.mark.parametrize("fmt", [".bmp", ".ppm", ".png", ".jpg"])
def test_header_size_reads_what_opencv_writes(fmt: str) -> None:
    ok, buf = cv2.imencode(fmt, np.zeros((37, 53, 3), np.uint8))
    assert ok and header_size(buf.tobytes()) == (53, 37)
