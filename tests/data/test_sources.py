"""Data sources on real images written by the test: ImageFolder (colour, gray, train/val, val_fraction),
CSV, factories; class order; labels files; and every bad-data input as one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.data.config import DataConfig
from edgekit.data.engine import build_splits
from edgekit.data.sources import DataError, FactorySplit, FileSplit, natural_sorted, resolve_source
from edgekit.preprocess.spec import Decode, Layout, Normalize, PreprocessSpec, Resize, ToFloat

from .realimages import write_folder


def spec(gray: bool = False, size: int = 32) -> PreprocessSpec:
    return PreprocessSpec(steps=[
        Decode(color="gray" if gray else "bgr"), Resize(size=[size, size]), ToFloat(),
        Normalize(mean=[0.5], std=[0.25]), Layout(),
    ])


def cfg(**source: object) -> DataConfig:
    extra = source.pop("_extra", {})
    return DataConfig(source=source, golden={"split": "val", "count": 4},  # type: ignore[arg-type]
                      calibration={"split": "train", "count": 6}, **extra)  # type: ignore[arg-type]


def test_natural_sort() -> None:
    assert natural_sorted(["10", "2", "1", "b", "a10", "a2"]) == ["1", "2", "10", "a2", "a10", "b"]


def test_image_folder_train_val_colour(tmp_path: Path) -> None:
    classes = ["10", "2", "1"]
    write_folder(tmp_path / "d" / "train", classes, 5, ext=".jpg")
    write_folder(tmp_path / "d" / "val", classes, 2, ext=".jpg", seed=1)
    s = build_splits(cfg(kind="image_folder", root="d"), tmp_path, spec())
    assert s.labels == ["1", "2", "10"]  # natural sort, not string sort
    assert s.counts == {"train": 15, "val": 6, "calib": 6, "golden": 4}
    x, y, _ = s.train[0]  # type: ignore[index]
    assert x.shape == (3, 32, 32) and x.dtype.is_floating_point
    # class id follows the natural order: train/1/* is class 0, train/10/* class 2
    assert isinstance(s.train.split, FileSplit)  # type: ignore[union-attr]
    paths = [s.train.split.path(i) for i in range(len(s.train))]  # type: ignore[union-attr]
    assert all(f"/{s.labels[int(lab)]}/" in p for p, lab in zip(paths, s.train.split.labels, strict=True))
    assert {g.label for g in s.golden} == {0, 1, 2}  # golden drawn over the classes


def test_image_folder_gray_val_fraction_is_stratified_and_seeded(tmp_path: Path) -> None:
    write_folder(tmp_path / "g", ["a", "b", "c"], 10, gray=True)
    c0 = cfg(kind="image_folder", root="g", val_fraction=0.3, seed=0)
    r0 = resolve_source(c0, tmp_path)
    r0b = resolve_source(c0, tmp_path)
    r1 = resolve_source(cfg(kind="image_folder", root="g", val_fraction=0.3, seed=1), tmp_path)
    v0 = r0.splits["val"]
    assert isinstance(v0, FileSplit)
    assert np.bincount(v0.labels).tolist() == [3, 3, 3]  # stratified: 30 % of every class
    assert v0.rel.tolist() == r0b.splits["val"].rel.tolist()  # type: ignore[union-attr]
    assert v0.rel.tolist() != r1.splits["val"].rel.tolist()  # type: ignore[union-attr]
    tr = r0.splits["train"]
    assert isinstance(tr, FileSplit) and not set(tr.rel.tolist()) & set(v0.rel.tolist())
    s = build_splits(c0, tmp_path, spec(gray=True))
    x, _, _ = s.eval[0]
    assert x.shape == (1, 32, 32)


def test_csv_source(tmp_path: Path) -> None:
    write_folder(tmp_path / "img", ["cat", "dog"], 4)
    rows = ["path,label"] + [f"img/{c}/{i:04d}.png,{c}" for c in ("dog", "cat") for i in range(4)]
    (tmp_path / "all.csv").write_text("\n".join(rows) + "\n")
    s = build_splits(cfg(kind="csv", train="all.csv", val_fraction=0.25), tmp_path, spec())
    assert s.labels == ["cat", "dog"] and s.counts["train"] == 6 and s.counts["val"] == 2
    (tmp_path / "bad.csv").write_text("img/cat/0000.png,cat,extra\n")
    with pytest.raises(DataError, match=r"bad.csv:1 has 3 columns"):
        resolve_source(cfg(kind="csv", train="bad.csv", val_fraction=0.25), tmp_path)


def test_factory_digits_and_video_calibration(tmp_path: Path) -> None:
    c = DataConfig(
        source={"kind": "factory", "factory": "edgekit.data.factories:digits", "kwargs": {"n_eval": 500}},
        splits={"cam": {"kind": "factory", "factory": "edgekit.data.factories:video_frames",
                        "kwargs": {"clip": "bikes", "count": 5, "color": "gray"}}},
        calibration={"split": "cam", "count": 5}, golden={"split": "val", "count": 3},
    )
    s = build_splits(c, tmp_path, spec(gray=True, size=28))
    assert s.labels == [str(i) for i in range(10)]
    assert s.counts == {"train": 4500, "val": 500, "calib": 5, "golden": 3}
    assert isinstance(s.train.split, FactorySplit)  # type: ignore[union-attr]
    x, _, _ = s.calib[0]
    assert x.shape == (1, 28, 28) and float(x.std()) > 0.05  # a real frame, not a blank
    assert all(isinstance(g.source, bytes) for g in s.golden)


def test_labels_file_order_and_mismatch(tmp_path: Path) -> None:
    write_folder(tmp_path / "d", ["x", "y"], 3)
    (tmp_path / "labels.txt").write_text("y\nx\n")
    c = cfg(kind="image_folder", root="d", val_fraction=0.34, _extra={"labels": "labels.txt"})
    assert resolve_source(c, tmp_path).labels == ["y", "x"]
    (tmp_path / "labels.txt").write_text("y\nx\nz\n")
    with pytest.raises(DataError, match=r"data.labels disagrees .*names z not found"):
        resolve_source(c, tmp_path)


@pytest.mark.parametrize("case,match", [
    ("missing", r"data.source.root: the data folder .* does not exist"),
    ("empty", r"is empty \(no class sub-folders\)"),
    ("one_class", r"holds one class only \('a'\)"),
    ("no_images", r"class 'b' in .* has no images"),
    ("differ", r"train and val class sets differ .*only in train: b"),
    ("no_val", r"has class folders but no train/ and val/ split"),
])
def test_bad_folders_one_line(tmp_path: Path, case: str, match: str) -> None:
    d = tmp_path / "d"
    frac: float | None = 0.5
    if case == "empty":
        d.mkdir()
    elif case == "one_class":
        write_folder(d, ["a"], 3)
    elif case == "no_images":
        write_folder(d, ["a"], 3)
        (d / "b").mkdir()
    elif case == "differ":
        write_folder(d / "train", ["a", "b"], 3)
        write_folder(d / "val", ["a", "c"], 1)
        frac = None
    elif case == "no_val":
        write_folder(d, ["a", "b"], 3)
        frac = None
    with pytest.raises(DataError, match=match) as e:
        resolve_source(cfg(kind="image_folder", root="d", val_fraction=frac), tmp_path)
    assert "\n" not in str(e.value) and " — fix: " in str(e.value)


def test_extra_image_folder_split_for_calibration(tmp_path: Path) -> None:
    write_folder(tmp_path / "d", ["a", "b"], 4)
    write_folder(tmp_path / "cal", ["a", "b"], 3, seed=2)
    c = DataConfig(source={"kind": "image_folder", "root": "d", "val_fraction": 0.25},  # type: ignore[arg-type]
                   splits={"cal": {"kind": "image_folder", "root": "cal"}},  # type: ignore[dict-item]
                   calibration={"split": "cal", "count": 6}, golden={"split": "val", "count": 2})
    s = build_splits(c, tmp_path, spec())
    assert s.counts["calib"] == 6 and s.calib.name == "cal"
    assert all("/cal/" in s.calib.name_of(i) for i in range(6))
