"""COCO and YOLO readers on HAND-WRITTEN fixtures (tests/data/fixtures/detection, see its README), and every
bad input of issue 16's data side: a one-line DataError naming the file and entry, or a count of what was
skipped and why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from edgekit.data.config import DataConfig
from edgekit.data.detection import DetectionSplit
from edgekit.data.sources import DataError, resolve_source

FIX = Path(__file__).parent / "fixtures" / "detection"
A_CAT = [10, 5, 30, 35]
A_DOG_CLIPPED = [50, 40, 64, 48]
C_CAT = [4, 6, 12, 16]


def coco_cfg(**kw: Any) -> DataConfig:
    src: dict[str, Any] = {
        "kind": "coco",
        "train": {"annotations": "coco/train.json", "images": "coco/images"},
        "val": {"annotations": "coco/val.json", "images": "coco/images"},
    }
    src.update(kw.pop("source", {}))
    return DataConfig.model_validate({"source": src, **kw})


def yolo_cfg(**kw: Any) -> DataConfig:
    return DataConfig.model_validate(
        {"source": {"kind": "yolo", "root": "yolo", **kw.pop("source", {})}, **kw}
    )


def copy_fixture(tmp: Path) -> Path:
    shutil.copytree(FIX, tmp / "f")
    return tmp / "f"


def edit_json(p: Path, fn: Any) -> None:
    d = json.loads(p.read_text())
    fn(d)
    p.write_text(json.dumps(d))


def split(res: Any, name: str) -> DetectionSplit:
    sp = res.splits[name]
    assert isinstance(sp, DetectionSplit)
    return sp


def boxes_of(sp: DetectionSplit, i: int, h: int, w: int) -> tuple[list[list[float]], list[int]]:
    b, c = sp.targets(i, h, w)
    return np.round(b, 4).tolist(), c.tolist()


# -- the hand-written fixtures --------------------------------------------------------------------
def test_coco_fixture() -> None:
    res = resolve_source(coco_cfg(), FIX)
    assert res.labels == ["cat", "dog"]  # category ids 1, 3 (listed out of order): sorted by id
    tr, va = split(res, "train"), split(res, "val")
    assert [r.decode() for r in tr.rel] == ["a.png", "b.png"] and len(va) == 1
    assert boxes_of(tr, 0, 48, 64) == ([A_CAT, A_DOG_CLIPPED], [0, 1])
    assert boxes_of(tr, 1, 40, 40) == ([[0, 0, 40, 40]], [1])
    assert boxes_of(va, 0, 60, 80) == ([C_CAT], [0])
    assert tr.skipped.counts == {"clipped": 1} and "a.png (annotation id 2)" in tr.skipped.examples["clipped"]


def test_yolo_fixture_same_boxes_as_coco() -> None:
    res = resolve_source(yolo_cfg(), FIX)
    assert res.labels == ["cat", "dog"]  # classes.txt
    tr, va = split(res, "train"), split(res, "val")
    assert tr.normalized
    b, c = tr.targets(0, 48, 64)
    np.testing.assert_allclose(b, [A_CAT, A_DOG_CLIPPED], atol=1e-4)
    assert c.tolist() == [0, 1]
    assert boxes_of(tr, 1, 40, 40) == ([], [])  # b.txt is EMPTY: an image with no objects is valid
    np.testing.assert_allclose(va.targets(0, 60, 80)[0], [C_CAT], atol=1e-4)
    assert tr.skipped.counts == {"clipped": 1}
    assert any(e.endswith("a.txt:2") for e in tr.skipped.examples["clipped"])


def test_yolo_names_from_data_yaml_and_labels_file(tmp_path: Path) -> None:
    f = copy_fixture(tmp_path)
    (f / "yolo" / "classes.txt").unlink()
    with pytest.raises(DataError, match="no class names for the YOLO dataset"):
        resolve_source(yolo_cfg(), f)
    (f / "yolo" / "data.yaml").write_text("path: .\nnames:\n  0: kitten\n  1: puppy\n")
    assert resolve_source(yolo_cfg(), f).labels == ["kitten", "puppy"]
    (f / "names.txt").write_text("A\nB\n")
    assert resolve_source(yolo_cfg(labels="names.txt"), f).labels == ["A", "B"]


def test_coco_labels_file_orders_classes(tmp_path: Path) -> None:
    f = copy_fixture(tmp_path)
    (f / "names.txt").write_text("dog\ncat\n")
    res = resolve_source(coco_cfg(labels="names.txt"), f)
    assert res.labels == ["dog", "cat"] and boxes_of(split(res, "train"), 0, 48, 64)[1] == [1, 0]
    (f / "names.txt").write_text("dog\nbird\n")
    with pytest.raises(DataError, match="data.labels disagrees"):
        resolve_source(coco_cfg(labels="names.txt"), f)


def test_val_fraction_and_missing_val() -> None:
    with pytest.raises(DataError, match=r"no val split.*val_fraction"):
        resolve_source(coco_cfg(source={"val": None}), FIX)
    res = resolve_source(coco_cfg(source={"val": None, "val_fraction": 0.5}), FIX)
    tr, va = split(res, "train"), split(res, "val")
    assert len(tr) == 1 and len(va) == 1 and tr.n_boxes() + va.n_boxes() == 3
    with pytest.raises(ValidationError, match="'factory' or 'train'"):
        coco_cfg(source={"factory": "m:f"})


# -- bad input: COCO --------------------------------------------------------------------------------
def _ann(d: dict[str, Any], **kw: Any) -> None:
    d["annotations"].append({"id": 99, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], **kw})


@pytest.mark.parametrize(
    ("edit", "reason", "example"),
    [
        (
            lambda d: _ann(d, bbox=[100, 100, 5, 5]),
            "outside",
            "a.png (annotation id 99)",
        ),  # wholly outside 64x48
        (lambda d: _ann(d, bbox=[-10, 10, 5, 5]), "outside", "a.png (annotation id 99)"),
        (lambda d: _ann(d, bbox=[-5, 10, 5, 5]), "outside", "a.png (annotation id 99)"),  # ends at x = 0
        (lambda d: _ann(d, bbox=[30, 48, 5, 5]), "outside", "a.png (annotation id 99)"),  # starts at y = h
        (lambda d: _ann(d, bbox=[5, 5, 0, 10]), "zero_area", "a.png (annotation id 99)"),
        (lambda d: _ann(d, iscrowd=1), "crowd", "a.png (annotation id 99)"),
    ],
)
def test_coco_boxes_skipped_and_counted(tmp_path: Path, edit: Any, reason: str, example: str) -> None:
    f = copy_fixture(tmp_path)
    edit_json(f / "coco" / "train.json", edit)
    tr = split(resolve_source(coco_cfg(), f), "train")
    assert tr.skipped.counts[reason] == 1 and tr.skipped.examples[reason] == [example]
    assert tr.n_boxes() == 3  # the fixture's three boxes, the bad one dropped


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: _ann(d, bbox=[5, 5, -4, 10]),
            r"train.json annotation id 99 has a negative size \(bbox \[5, 5, -4, 10\]\)",
        ),
        (
            lambda d: _ann(d, category_id=2),
            r"annotation id 99 has unknown category_id 2 \(categories: ids 1..3\)",
        ),
        (lambda d: _ann(d, image_id=42), "annotation id 99 references image_id 42, which is not in images"),
        (lambda d: _ann(d, bbox=[1, 2, 3]), r"annotation id 99 has bbox \[1, 2, 3\], not 4 finite numbers"),
        (lambda d: d["images"][0].pop("width"), r"image id 1 \(a.png\) has width/height None/48"),
        (lambda d: d["annotations"].append(dict(d["annotations"][0])), "has annotations id 1 more than once"),
        (lambda d: d.pop("categories"), "has no 'categories' list"),
    ],
)
def test_coco_malformed_one_line_error(tmp_path: Path, edit: Any, message: str) -> None:
    f = copy_fixture(tmp_path)
    edit_json(f / "coco" / "train.json", edit)
    with pytest.raises(DataError, match=message) as e:
        resolve_source(coco_cfg(), f)
    assert "\n" not in str(e.value) and "train.json" in str(e.value)


def test_coco_missing_images(tmp_path: Path) -> None:
    f = copy_fixture(tmp_path)
    edit_json(
        f / "coco" / "train.json",
        lambda d: d["images"].append({"id": 8, "file_name": "gone.png", "width": 9, "height": 9}),
    )
    with pytest.raises(
        DataError,
        match=r"1 of 3 images named by .*train.json are missing \(e.g. .*gone.png\): "
        r"more than data.max_bad_fraction=0.01",
    ) as e:
        resolve_source(coco_cfg(), f)
    assert "put the images under" in str(e.value)
    tr = split(resolve_source(coco_cfg(max_bad_fraction=0.5), f), "train")  # allowed: skipped and counted
    assert len(tr) == 2 and tr.skipped.counts["missing_image"] == 1
    (f / "coco" / "train.json").write_text("{not json")
    with pytest.raises(DataError, match="is not readable JSON"):
        resolve_source(coco_cfg(), f)


def test_max_boxes_counted_and_truncated(tmp_path: Path) -> None:
    f = copy_fixture(tmp_path)
    tr = split(resolve_source(coco_cfg(max_boxes=1), f), "train")
    assert tr.skipped.counts["over_max_boxes"] == 1 and tr.skipped.examples["over_max_boxes"] == [
        "a.png (2 boxes)"
    ]


# -- bad input: YOLO --------------------------------------------------------------------------------
def _label(f: Path, text: str) -> None:
    (f / "yolo" / "labels" / "train" / "a.txt").write_text(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 0.5 0.5 0.2\n", r"a.txt:1 has 4 columns, expected 5"),
        (
            "0 0.5 0.5 0.2 0.2\n0 0.1 0.1 0.2 0.2 0.3 0.3\n",
            r"a.txt:2 has 7 columns, expected 5 \(a segmentation",
        ),
        ("2 0.5 0.5 0.2 0.2\n", r"a.txt:1 has unknown class id 2 \(there are 2 classes, ids 0..1\)"),
        ("-1 0.5 0.5 0.2 0.2\n", r"a.txt:1 has unknown class id -1"),
        ("0.5 0.5 0.5 0.2 0.2\n", r"a.txt:1 has unknown class id 0.5"),
        ("0 0.5 0.5 -0.2 0.2\n", r"a.txt:1 has a negative box size \(-0.2 x 0.2\)"),
        ("0 0.5 zero 0.2 0.2\n", r"a.txt:1 has a column that is not a number"),
        ("0 0.5 nan 0.2 0.2\n", r"a.txt:1 has a non-finite number"),
    ],
)
def test_yolo_malformed_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    f = copy_fixture(tmp_path)
    _label(f, text)
    with pytest.raises(DataError, match=message) as e:
        resolve_source(yolo_cfg(), f)
    assert "\n" not in str(e.value) and "labels/train/a.txt" in str(e.value)


@pytest.mark.parametrize(
    ("text", "reason", "n_kept"),
    [
        ("0 1.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n", "outside", 1),
        ("0 0.5 0.5 0.0 0.2\n0 0.5 0.5 0.2 0.2\n", "zero_area", 1),
        ("\n\n", None, 0),  # blank lines only: no objects
    ],
)
def test_yolo_boxes_skipped_and_counted(tmp_path: Path, text: str, reason: str | None, n_kept: int) -> None:
    f = copy_fixture(tmp_path)
    _label(f, text)
    tr = split(resolve_source(yolo_cfg(), f), "train")
    assert int(tr.offsets[1]) == n_kept
    if reason is None:
        assert tr.skipped.counts == {}
    else:
        assert tr.skipped.counts == {reason: 1} and tr.skipped.examples[reason][0].endswith("a.txt:1")


def test_yolo_missing_label_file_and_orphan_label(tmp_path: Path) -> None:
    f = copy_fixture(tmp_path)
    (f / "yolo" / "labels" / "train" / "b.txt").unlink()
    (f / "yolo" / "labels" / "train" / "zzz.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    tr = split(resolve_source(yolo_cfg(), f), "train")
    assert int(np.diff(tr.offsets)[1]) == 0  # no label file: an image with no objects, counted
    assert tr.skipped.counts == {"clipped": 1, "no_label_file": 1, "label_without_image": 1}


def test_yolo_layout_errors(tmp_path: Path) -> None:
    f = copy_fixture(tmp_path)
    shutil.rmtree(f / "yolo" / "images" / "val")
    with pytest.raises(DataError, match=r"has no images/val/ folder"):
        resolve_source(yolo_cfg(), f)
    res = resolve_source(yolo_cfg(source={"val_fraction": 0.5}), f)
    assert len(res.splits["train"]) == 1 and len(res.splits["val"]) == 1
    with pytest.raises(DataError, match=r"has no images/ folder"):
        resolve_source(yolo_cfg(source={"root": "nowhere"}), f)


def test_fingerprint_follows_annotation_edits(tmp_path: Path) -> None:
    """A trained model is reused only while the data is the same: an edited label changes the key."""
    from types import SimpleNamespace

    from edgekit.data.engine import StreamDataset
    from edgekit.preprocess.spec import imagenet_spec
    from edgekit.project.reuse import files_key

    f = copy_fixture(tmp_path)

    def key() -> str:
        res = resolve_source(yolo_cfg(), f)
        sp = {n: StreamDataset(n, res.splits[n], imagenet_spec()) for n in ("train", "val")}
        return files_key(SimpleNamespace(splits=SimpleNamespace(train=sp["train"], eval=sp["val"])))  # type: ignore[arg-type]

    k0 = key()
    assert k0 == key() and len(k0) == 64
    (f / "yolo" / "labels" / "train" / "b.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    assert key() != k0
