"""YOLO txt detection datasets -> ``DetectionSplit``.

``root/images/<split>/<stem>.<ext>`` and ``root/labels/<split>/<stem>.txt``: one ``class cx cy w h`` row
per box, normalized to [0, 1] of the image's width/height (the Ultralytics layout). An empty label file,
or none, is an image with no objects (valid). Class names: ``data.labels``, else ``root/classes.txt`` (one
per line), else ``names`` (a list, or {id: name}) in ``root/data.yaml``. A row with the wrong number of
columns, a non-number, a class id that is not a class or a negative size is one ``DataError`` line naming
``file:line``; boxes partly outside [0, 1] are clipped, those wholly outside or of zero area skipped, and
counted (``BoxSkips``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.data.config import DataConfig, YoloSource
from edgekit.data.detection import BoxSkips, DetectionSplit, clean_boxes, make_split, val_split
from edgekit.data.sources import (
    IMAGE_EXTS,
    DataError,
    ResolvedSource,
    _path,
    _read_labels_file,
    natural_sorted,
)

ROW = "one 'class cx cy w h' row per box (class an integer id, the rest fractions of the image size)"


def class_names(root: Path, data: DataConfig, base: Path, key: str) -> list[str]:
    given = _read_labels_file(data, base)
    if given is not None:
        return given
    txt = root / "classes.txt"
    if txt.is_file():
        names = [ln.strip() for ln in txt.read_text(encoding="utf-8").splitlines() if ln.strip()]
        if not names:
            raise DataError(f"{key}: {txt} names no classes", "write one class name per line")
        return names
    yml = root / "data.yaml"
    if yml.is_file():
        import yaml

        try:
            d = yaml.safe_load(yml.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DataError(f"{key}: {yml} is not valid YAML ({str(exc).splitlines()[0]})",
                            "fix the file, or give data.labels") from exc
        got = d.get("names") if isinstance(d, dict) else None
        if isinstance(got, dict) and sorted(got) == list(range(len(got))):
            got = [got[i] for i in range(len(got))]
        if isinstance(got, list) and got and all(isinstance(n, str | int) for n in got):
            return [str(n) for n in got]
        raise DataError(f"{key}: {yml} has no 'names' list (or {{0: name, 1: ...}} mapping)",
                        "add names: [cat, dog, ...] to it, or give data.labels")
    raise DataError(f"{key}: no class names for the YOLO dataset {root}",
                    "give data.labels, or write root/classes.txt or root/data.yaml with 'names'")


def read_label_file(p: Path, n_classes: int, skips: BoxSkips) -> tuple[np.ndarray, np.ndarray]:
    """(xyxy normalized float64 [k, 4] clipped to [0, 1], class ids int64 [k]) of one label file."""
    rows: list[list[float]] = []
    cls: list[int] = []
    where: list[str] = []
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the YOLO label file {p} ({exc})", "give a UTF-8 text file") from exc
    for n, line in enumerate(text.splitlines(), start=1):
        cols = line.split()
        if not cols:
            continue
        if len(cols) != 5:
            poly = len(cols) > 5 and len(cols) % 2 == 1
            hint = " (a segmentation polygon? this reader takes boxes)" if poly else ""
            raise DataError(f"{p}:{n} has {len(cols)} columns, expected 5{hint}", f"write {ROW}")
        try:
            vals = [float(c) for c in cols]
        except ValueError as exc:
            raise DataError(f"{p}:{n} has a column that is not a number ({line.strip()!r})",
                            f"write {ROW}") from exc
        if not all(np.isfinite(vals)):
            raise DataError(f"{p}:{n} has a non-finite number ({line.strip()!r})", f"write {ROW}")
        c = vals[0]
        if c != int(c) or not 0 <= int(c) < n_classes:
            raise DataError(f"{p}:{n} has unknown class id {cols[0]} (there are {n_classes} classes, "
                            f"ids 0..{n_classes - 1})", "fix the id, or add the class to the class names")
        if vals[3] < 0 or vals[4] < 0:
            raise DataError(f"{p}:{n} has a negative box size ({cols[3]} x {cols[4]})",
                            "write w and h as non-negative fractions of the image size")
        cx, cy, w, h = vals[1:]
        rows.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        cls.append(int(c))
        where.append(f"{p}:{n}")
    xyxy = np.asarray(rows, np.float64).reshape(-1, 4)
    keep = clean_boxes(xyxy, 1.0, 1.0, where, skips)
    return xyxy[keep], np.asarray(cls, np.int64)[keep]


def _folder_split(root: Path, split: str, n_classes: int, key: str) -> DetectionSplit | None:
    images, labels = root / "images" / split, root / "labels" / split
    if not images.is_dir():
        return None
    skips = BoxSkips()
    files = natural_sorted(str(f.relative_to(images)) for f in images.rglob("*")
                           if f.is_file() and f.suffix.lower() in IMAGE_EXTS and not f.name.startswith("."))
    if not files:
        raise DataError(f"{key}: {images} holds no images", "add png/jpg images, or remove the folder")
    rel: list[str] = []
    per: list[tuple[np.ndarray, np.ndarray]] = []
    stems = set()
    for f in files:
        lab = (labels / f).with_suffix(".txt")
        stems.add(str(Path(f).with_suffix("")))
        if lab.is_file():
            per.append(read_label_file(lab, n_classes, skips))
        else:
            skips.add("no_label_file", str(images / f))
            per.append((np.zeros((0, 4)), np.zeros(0, np.int64)))
        rel.append(f)
    if labels.is_dir():
        for t in sorted(labels.rglob("*.txt")):
            if str(t.relative_to(labels).with_suffix("")) not in stems:
                skips.add("label_without_image", str(t))
    return make_split(images, rel, per, True, skips)


def resolve_yolo(src: YoloSource, data: DataConfig, base: Path, key: str) -> ResolvedSource:
    root = _path(src.root, base)
    if not (root / "images").is_dir():
        raise DataError(f"{key}.root: {root} has no images/ folder",
                        "point it at a YOLO dataset: images/{train,val}/ and labels/{train,val}/")
    names = class_names(root, data, base, key)
    train = _folder_split(root, "train", len(names), key)
    if train is None:
        raise DataError(f"{key}.root: {root} has no images/train/ folder", "put the training images there")
    val = _folder_split(root, "val", len(names), key)
    if val is not None and src.val_fraction is not None:
        raise DataError(f"{key}.val_fraction: {root} has images/val/ and val_fraction is set",
                        "drop val_fraction, or remove images/val/")
    if val is None:
        if src.val_fraction is None:
            raise DataError(f"{key}.root: {root} has no images/val/ folder",
                            "add images/val/ and labels/val/, or set data.source.val_fraction: 0.2")
        train, val = val_split(train, src.val_fraction, src.seed, f"{key}.val_fraction")
    return ResolvedSource(names, {"train": train, "val": val})
