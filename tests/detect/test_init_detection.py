"""`edgekit init DIR --data FOLDER --task detection`: the COCO or YOLO layout is found, read by the build's
own readers, and the edgekit.yaml + model.py written build out of the box (`edgekit build --fast`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from edgekit import bundle as B
from edgekit.project.project import load_project
from tests.detect.test_user_detection import _one_line_error, edgekit
from tests.detect.user_data import CLASSES, write_coco, write_yolo


@pytest.mark.slow
def test_init_yolo_builds_out_of_the_box(tmp_path: Path) -> None:
    data = write_yolo(tmp_path / "shapes", n_train=24, n_val=8)
    r = edgekit("init", tmp_path / "proj", "--data", data, "--task", "detection", "--size", "64")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "2 classes (square, disk), colour images, input 64x64" in " ".join(r.stdout.split())
    cfg = yaml.safe_load((tmp_path / "proj" / "edgekit.yaml").read_text())
    assert cfg["task"] == "detection" and cfg["data"]["source"] == {"kind": "yolo", "root": "../shapes"}
    assert cfg["postprocess"]["encoding"] == "edgekit_ltrb"
    assert cfg["model"]["teacher"]["kwargs"]["classes"] == 2
    assert cfg["preprocess"]["steps"][2]["mode"] == "letterbox"
    out = tmp_path / "bundle"
    r = edgekit("build", "--config", tmp_path / "proj" / "edgekit.yaml", "--device", "cpu", "--fast",
                "--out", out)
    # a --fast smoke build of 24 images need not give a detector that detects anything: the bundle is written
    # and the end-of-build parity then fails closed (exit 3, not verified: nothing to compare), never passes
    err = " ".join(r.stderr.split())
    assert r.returncode == 0 or (r.returncode == 3 and "parity: not verified" in err
                                 and "no detection scored above" in err), r.stderr[-3000:]
    m = B.load(out, verify=True).manifest
    assert m.task == "detection" and isinstance(m.postprocess, B.DetectionPostprocess)
    assert [(o.name, o.shape) for o in m.outputs] == [("raw", [-1, 6, 8, 8])]
    assert B.load(out).labels() == list(CLASSES) and len(m.golden) == 8
    assert all(set(e.metrics) == {"accuracy", "map50"} for e in m.models)


def test_init_coco_layouts(tmp_path: Path) -> None:
    data = write_coco(tmp_path / "coco", n_train=6, n_val=3)
    r = edgekit("init", tmp_path / "p1", "--data", data, "--task", "detection")
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = yaml.safe_load((tmp_path / "p1" / "edgekit.yaml").read_text())
    assert cfg["data"]["source"] == {
        "kind": "coco", "train": {"annotations": "../coco/train.json", "images": "../coco/images"},
        "val": {"annotations": "../coco/val.json", "images": "../coco/images"}}
    assert cfg["preprocess"]["steps"][2]["size"] == [160, 160]
    proj = load_project(tmp_path / "p1" / "edgekit.yaml")
    assert proj.labels == list(CLASSES) and proj.cfg.task == "detection"
    assert proj.cfg.data.max_boxes == 50  # the default, or the most boxes in one image when more
    # one annotation file in annotations/: a seeded val_fraction
    one = tmp_path / "one"
    (one / "annotations").mkdir(parents=True)
    shutil.copytree(data / "images", one / "images")
    shutil.copy(data / "train.json", one / "annotations" / "instances.json")
    r = edgekit("init", tmp_path / "p2", "--data", one, "--task", "detection")
    assert r.returncode == 0, r.stderr[-2000:]
    src = yaml.safe_load((tmp_path / "p2" / "edgekit.yaml").read_text())["data"]["source"]
    assert src == {"kind": "coco", "train": {"annotations": "../one/annotations/instances.json",
                                             "images": "../one/images"}, "val_fraction": 0.2, "seed": 0}
    load_project(tmp_path / "p2" / "edgekit.yaml")


def test_init_detection_bad_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _one_line_error(edgekit("init", tmp_path / "p", "--data", tmp_path / "empty", "--task", "detection"),
                    "no COCO JSON", "YOLO")
    data = write_yolo(tmp_path / "y", n_train=4, n_val=2)
    (data / "labels" / "val" / "val001.txt").write_text("1 0.5 0.5 0.2 0.2 0.9 0.1\n")
    _one_line_error(edgekit("init", tmp_path / "p", "--data", data, "--task", "detection"),
                    "val001.txt:1", "7 columns")
    _one_line_error(edgekit("init", tmp_path / "p", "--data", data, "--task", "segmentation"), "--task")
    assert not (tmp_path / "p" / "edgekit.yaml").exists()


def test_init_classification_default_size_unchanged(tmp_path: Path) -> None:
    from tests.project.imagefolder import write_imagefolder

    data = write_imagefolder(tmp_path / "photos", classes=2, per_class=4, size=32)
    r = edgekit("init", tmp_path / "p", "--data", data)  # --task classification, --size 64 by default
    assert r.returncode == 0, r.stderr[-2000:]
    assert "input 64x64" in " ".join(r.stdout.split())
    assert yaml.safe_load((tmp_path / "p" / "edgekit.yaml").read_text()).get("task", "classification") == \
        "classification"
