"""How a decoded BGR video frame enters a gray spec: cvtColor(BGR2GRAY), and what that equals."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import skimage.data

from edgekit.demo.runner import frame_to_decoded
from edgekit.preprocess import imagenet_spec, mnist_spec


def test_gray_content_matches_imread_grayscale_exactly(tmp_path: Path) -> None:
    gray = np.random.default_rng(1).integers(0, 256, (40, 50), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    frame = cv2.imread(str(tmp_path / "g.png"), cv2.IMREAD_COLOR)  # B = G = R, as a video of gray images
    direct = cv2.imread(str(tmp_path / "g.png"), cv2.IMREAD_GRAYSCALE)
    assert frame is not None and direct is not None
    assert np.array_equal(frame_to_decoded(frame, mnist_spec()), direct)


def test_colour_content_differs_from_imread_grayscale(tmp_path: Path) -> None:
    """imread's gray path is not cvtColor (PNG: imgcodecs' rounding and libpng gamma; JPEG: libjpeg's Y). The
    spec's gray decode is colour decode + cvtColor, so a file and a video frame of it give the same tensor."""
    from edgekit.preprocess import run

    bgr = np.ascontiguousarray(skimage.data.chelsea()[:, :, ::-1])
    for ext, max_diff in ((".png", 1), (".jpg", 8)):
        p = tmp_path / f"c{ext}"
        cv2.imwrite(str(p), bgr)
        colour, gray = cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        assert colour is not None and gray is not None
        d = np.abs(frame_to_decoded(colour, mnist_spec()).astype(int) - gray)
        assert 0 < d.max() <= max_diff, (ext, d.max())
        _, stages = run(mnist_spec(), p, collect=True)
        assert np.array_equal(stages[0].tensor[:, :, 0], frame_to_decoded(colour, mnist_spec()))


def test_bgr_spec_takes_the_frame_as_is() -> None:
    f = np.random.default_rng(2).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    assert frame_to_decoded(f, imagenet_spec()) is f
