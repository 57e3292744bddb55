"""The composite digits-detection dataset: exact ink boxes (ink inside, nothing pasted outside, the box
tight), reproducible files (same seed -> same bytes), written atomically, read by the COCO reader."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from edgekit.data import composite
from edgekit.data.config import DataConfig
from edgekit.data.detection import DetectionSplit
from edgekit.data.mnist import load_mnist_subset
from edgekit.data.sources import resolve_source


def test_boxes_are_the_exact_ink_boxes() -> None:
    mn, labels = load_mnist_subset()
    n_digits = []
    for i in range(40):
        c = composite.compose(5, i, mn, labels, size=96, max_digits=4)
        assert c.image.shape == (96, 96, 3) and c.image.dtype == np.uint8
        inside = np.zeros((96, 96), bool)
        for (x1, y1, x2, y2), k in zip(c.boxes.astype(int), c.classes, strict=True):
            assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 96 and 0 <= k <= 9
            a = c.alpha[y1:y2, x1:x2]
            # tight: ink in the first and last row and column of the box
            assert a[0].any() and a[-1].any() and a[:, 0].any() and a[:, -1].any()
            assert not inside[y1:y2, x1:x2].any()  # digits do not overlap
            inside[y1:y2, x1:x2] = True
        assert not c.alpha[~inside].any()  # no ink outside the boxes
        np.testing.assert_array_equal(c.image[~inside], c.background[~inside])  # the photo, untouched
        if len(c.boxes):
            assert (c.image[inside] != c.background[inside]).any()  # the digits are visible
        n_digits.append(len(c.boxes))
    assert min(n_digits) == 0 and max(n_digits) >= 3  # 0..N digits per image


def test_backgrounds_are_photos_and_video_frames() -> None:
    bgs = composite.backgrounds()
    n_photos = len(composite.PHOTOS) + 2
    assert len(bgs) == n_photos + len(composite.CLIPS) * composite.FRAMES_PER_CLIP
    assert bgs[-1].shape == (720, 1280, 3) and bgs[n_photos].shape == (272, 640, 3)  # bigbuckbunny, bikes


def _digest(d: Path) -> dict[str, str]:
    return {
        str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


def test_written_dataset_is_reproducible_and_read_by_the_coco_reader(tmp_path: Path) -> None:
    kw = {"seed": 3, "n_train": 6, "n_val": 3, "size": 64, "ext": ".png"}
    a = composite.digits_detection(root=str(tmp_path / "a"), **kw)  # type: ignore[arg-type]
    b = composite.digits_detection(root=str(tmp_path / "b"), **kw)  # type: ignore[arg-type]
    da, db = Path(a["train"].annotations).parent, Path(b["train"].annotations).parent
    assert da.name == "digits-detection-v1-s3-6x3-64px-4d-png"
    assert _digest(da) == _digest(db) and len(_digest(da)) == 6 + 3 + 2  # same seed -> same bytes
    assert [p.name for p in (tmp_path / "a").iterdir()] == [da.name]  # no temporary folder left behind
    other = composite.digits_detection(root=str(tmp_path / "c"), **{**kw, "seed": 4})  # type: ignore[arg-type]
    assert _digest(Path(other["train"].annotations).parent) != _digest(da)
    mtime = (da / "train.json").stat().st_mtime_ns
    composite.digits_detection(root=str(tmp_path / "a"), **kw)  # type: ignore[arg-type]
    assert (da / "train.json").stat().st_mtime_ns == mtime  # reused, not rewritten

    cfg = DataConfig.model_validate(
        {
            "source": {
                "kind": "coco",
                "factory": "edgekit.data.composite:digits_detection",
                "kwargs": {"root": str(tmp_path / "a"), **kw},
            }
        }
    )
    res = resolve_source(cfg, tmp_path)
    assert res.labels == [str(k) for k in range(10)]
    mn, labels = load_mnist_subset()
    from edgekit.data.mnist import split

    tr_idx, _ = split(len(mn), 1000, 3)
    sp = res.splits["train"]
    assert isinstance(sp, DetectionSplit) and len(sp) == 6 and sp.skipped.counts == {}
    for i in range(6):
        c = composite.compose(3, i, mn[tr_idx], labels[tr_idx], 64, 4)
        np.testing.assert_array_equal(cv2.imread(sp.path(i)), c.image)  # PNG: the composed pixels exactly
        boxes, classes = sp.targets(i, 64, 64)
        np.testing.assert_array_equal(boxes, c.boxes)
        np.testing.assert_array_equal(classes, c.classes)


def test_fast_variant_sizes() -> None:
    assert composite.SIZES[True] == (300, 100) and composite.SIZES[False] == (2000, 400)


def test_named_by_a_factory_source_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from edgekit.data.sources import DataError

    cfg = DataConfig.model_validate(
        {"source": {"kind": "factory", "factory": "edgekit.data.composite:digits_detection"}}
    )
    with pytest.raises(
        DataError, match=r"digits_detection is a COCO-source factory: write data.source: \{kind: coco"
    ):
        resolve_source(cfg, tmp_path)
