"""`edgekit init DIR --data FOLDER --task detection`: a commented detection edgekit.yaml and a model.py
template for a COCO or YOLO dataset.

The layout is found in FOLDER: ``images/`` + ``labels/`` is YOLO (splits ``images/{train,val}``, else a
seeded ``val_fraction``); otherwise COCO JSON files (in FOLDER or ``FOLDER/annotations``), the split named by
``train`` / ``val`` in the file name (one file: a seeded ``val_fraction``), images in ``FOLDER/images``, or
``FOLDER/{train,val}``, or next to the JSON. The dataset is then read by the data engine's own readers, so
a dataset that would not build (bad boxes, unknown class ids, missing images past the limit, wrong YOLO
columns) is refused here already, and the class names come from the same place the build takes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import ConfigError
from edgekit.project.init import InitResult, _is_gray, _rel, common_subs, project_paths, write_project

SAMPLE = 24


def find_layout(data: Path) -> tuple[str, dict[str, Any]]:
    """("yolo" | "coco", the data.source fields with paths relative to ``data``)."""
    if (data / "images").is_dir() and (data / "labels").is_dir():
        src: dict[str, Any] = {"kind": "yolo", "root": "."}
        if not ((data / "images" / "val").is_dir() and (data / "labels" / "val").is_dir()):
            src.update(val_fraction=0.2, seed=0)
        return "YOLO", src
    jsons = sorted(data.glob("*.json"))
    if (data / "annotations").is_dir():
        jsons += sorted((data / "annotations").glob("*.json"))
    if not jsons:
        raise ConfigError(f"--data {data}: no COCO JSON (*.json) and no YOLO layout (images/ + labels/) "
                          "found",
                          "give a COCO folder (train.json, val.json, images/) or a YOLO one "
                          "(images/{train,val}, labels/{train,val}, classes.txt)")
    train = next((p for p in jsons if "train" in p.stem.lower()), None)
    val = next((p for p in jsons if "val" in p.stem.lower()), None)
    if train is None:
        if len(jsons) > 1:
            raise ConfigError(f"--data {data}: {len(jsons)} JSON files and none is named for 'train'",
                              "name the annotation files train.json and val.json (or keep one file)")
        train = jsons[0]

    def files(p: Path, split: str) -> dict[str, str]:
        images = data / "images" if (data / "images").is_dir() else data / split if (data / split).is_dir() \
            else p.parent
        return {"annotations": _rel(p, data), "images": _rel(images, data)}

    src = {"kind": "coco", "train": files(train, "train")}
    if val is not None and val != train:
        src["val"] = files(val, "val")
    else:
        src.update(val_fraction=0.2, seed=0)
    return "COCO", src


def _rebase(src: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The source with its paths relative to ``prefix`` (the data folder, as seen from the project)."""

    def j(p: str) -> str:
        return (Path(prefix) / p).as_posix() if p != "." else prefix

    out = dict(src)
    if "root" in out:
        out["root"] = j(out["root"])
    for k in ("train", "val"):
        if k in out:
            out[k] = {kk: j(v) for kk, v in out[k].items()}
    return out


def _flow(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


def init_detection(folder: Path, data: Path, size: int = 160, name: str | None = None,
                   force: bool = False) -> InitResult:
    from edgekit.data.config import DataConfig
    from edgekit.data.detection import DetectionSplit
    from edgekit.data.sources import resolve_source

    if size < 32 or size > 2048 or size % 8:
        raise ConfigError(f"--size {size} does not fit a detector",
                          "give a multiple of 8 between 32 and 2048")
    data = data.expanduser()
    if not data.is_dir():
        raise ConfigError(f"--data {data} is not a folder", "give the dataset's folder (COCO or YOLO)")
    kind, src = find_layout(data)
    res = resolve_source(DataConfig.model_validate({"source": _rebase(src, str(data.resolve()))}), Path.cwd())
    labels = res.labels
    train = res.splits["train"]
    assert isinstance(train, DetectionSplit)
    n_img = sum(len(s) for s in res.splits.values())
    n_box = sum(s.n_boxes() for s in res.splits.values() if isinstance(s, DetectionSplit))
    most = max(int(np.diff(s.offsets).max(initial=0)) for s in res.splits.values()
               if isinstance(s, DetectionSplit))
    step = max(1, len(train) // SAMPLE)
    gray = _is_gray([Path(train.path(i)) for i in range(0, len(train), step)][:SAMPLE])
    cfg_path, model_path = project_paths(folder, force)
    subs = common_subs(folder, name, cfg_path, data, labels, gray, size)
    subs.update({
        "FOUND": f"a {kind} dataset in {data} ({n_img} images, {n_box} boxes)",
        "SOURCE": _flow(_rebase(src, _rel(data, folder))),
        "MAX_BOXES": str(min(10000, max(50, most))),
        "MOST": str(most),
    })
    write_project(subs, "detection.yaml.tmpl", "detection_model.py.tmpl", name, cfg_path, model_path, force)
    return InitResult(cfg_path, model_path, labels, gray, size)
