from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
from pydantic import ValidationError

from edgekit.errors import InputError
from edgekit.preprocess import PreprocessSpec, imagenet_spec, mnist_spec, run
from edgekit.preprocess import geometry as g


def test_geometry_formulas() -> None:
    assert g.shorter_side(300, 451, 256) == (256, 385)  # 451*256/300 = 384.85 -> 385
    assert g.shorter_side(451, 300, 256) == (385, 256)
    assert g.shorter_side(100, 100, 7) == (7, 7)
    assert g.letterbox(100, 200, 64, 64) == (32, 64, 16, 0)
    assert g.letterbox(200, 100, 64, 64) == (64, 32, 0, 16)
    assert g.center_crop(256, 385, 224, 224) == (16, 80)


def test_imagenet_stages_shapes_and_values() -> None:
    bgr = np.ascontiguousarray(skimage.data.chelsea()[:, :, ::-1])
    x, stages = run(imagenet_spec(), bgr, collect=True)
    assert [s.name for s in stages] == [
        "00_decode",
        "01_cvt_color",
        "02_resize",
        "03_center_crop",
        "04_to_float",
        "05_normalize",
        "06_layout",
    ]
    assert stages[1].tensor[0, 0, 0] == bgr[0, 0, 2]  # RGB now
    assert stages[2].tensor.shape == (256, 385, 3) and stages[2].tensor.dtype == np.uint8
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32
    # the C++-compatible float conversion: multiply by float32(1/255), not divide
    crop = stages[3].tensor
    assert np.array_equal(stages[4].tensor, crop.astype(np.float32) * np.float32(1 / 255))
    mean = np.float32(0.485)
    assert stages[5].tensor[0, 0, 0] == (stages[4].tensor[0, 0, 0] - mean) / np.float32(0.229)


def test_decode_from_file_matches_array(tmp_path) -> None:
    img = skimage.data.camera()[:64, :80]
    p = tmp_path / "g.png"
    cv2.imwrite(str(p), img)
    a, _ = run(mnist_spec(), p)
    b, _ = run(mnist_spec(), img)
    assert np.array_equal(a, b) and a.shape == (1, 1, 28, 28)


def test_spec_order_is_validated() -> None:
    steps = mnist_spec().to_json_obj()["steps"]
    with pytest.raises(ValidationError, match="must come before 'to_float'"):
        PreprocessSpec.model_validate({"steps": [steps[0], steps[2], steps[1], steps[3], steps[4]]})
    with pytest.raises(ValidationError, match="first step must be 'decode'"):
        PreprocessSpec.model_validate({"steps": steps[1:]})
    with pytest.raises(ValidationError):
        PreprocessSpec.model_validate(
            {"steps": [*steps[:3], {"op": "normalize", "mean": [0.1], "std": [0.0]}, steps[4]]}
        )


def test_sha_changes_with_any_parameter() -> None:
    a = imagenet_spec()
    b = imagenet_spec(resize_to=257)
    assert a.sha256() == imagenet_spec().sha256() and a.sha256() != b.sha256()


def test_bad_inputs_are_clear(tmp_path) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match="cannot decode"):
        run(mnist_spec(), bad)
    with pytest.raises(InputError, match="cannot read"):
        run(mnist_spec(), tmp_path / "missing.png")
    with pytest.raises(InputError, match="uint8 HxWx3"):
        run(imagenet_spec(), np.zeros((10, 10), np.float32))
    with pytest.raises(InputError, match="larger than the image"):
        run(imagenet_spec(size=300, resize_to=256), np.zeros((256, 256, 3), np.uint8))
