"""Data sources of a project: an ImageFolder, a CSV of ``path,label``, or a ``module:callable`` factory.

A source is resolved into *splits* that hold references, never pixels: a file split is a root folder
plus two numpy arrays (relative paths as fixed-width bytes, labels as int64), so a DataLoader worker
forked from the main process shares them without copy-on-write growth (a Python list of str would be
touched by reference counting). Factory splits hold whatever the user's factory returns.

Class order is the natural sort of the class names (``2`` before ``10``), or the order of an explicit
labels file, which must name exactly the classes found. Every problem is one ``DataError`` line naming
the config key and the fix.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from edgekit.data.config import (
    CocoSource,
    CsvSource,
    DataConfig,
    FactorySource,
    ImageFolderSource,
    YoloSource,
)
from edgekit.errors import ConfigError

if TYPE_CHECKING:
    from edgekit.data.detection import DetectionSplit

IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pbm"})


class DataError(ConfigError):
    """A data folder, CSV, labels file or factory that cannot be used as a dataset."""


def natural_key(name: str) -> list[Any]:
    """Sort key where digit runs compare as numbers: ``2 < 10``; ties broken by the raw name."""
    parts: list[Any] = []
    for tok in re.split(r"(\d+)", name):
        if tok.isdigit():
            parts.append((0, int(tok), tok))
        elif tok:
            parts.append((1, tok.lower(), tok))
    return parts


def natural_sorted(names: Iterable[str]) -> list[str]:
    return sorted(names, key=natural_key)


# -- splits --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileSplit:
    """Image files: ``root / rel[i]`` with class ``labels[i]``."""

    root: str
    rel: np.ndarray  # dtype S (utf-8 bytes)
    labels: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.rel)

    def path(self, i: int) -> str:
        return str(Path(self.root) / self.rel[i].decode())

    def take(self, idx: np.ndarray) -> FileSplit:
        return FileSplit(self.root, self.rel[idx], self.labels[idx])


@dataclass(frozen=True)
class FactorySplit:
    """A user's sequence of (image, label) items; ``sequence`` False means iterate only (no len/index)."""

    items: Any
    sequence: bool
    labels_hint: np.ndarray | None = None  # labels, when the factory exposes them (for stratified draws)

    def __len__(self) -> int:
        if not self.sequence:
            raise TypeError("an iterable factory split has no length")
        return len(self.items)


Split = Union[FileSplit, FactorySplit, "DetectionSplit"]  # noqa: UP007 (a forward reference: detection.py)


@dataclass
class ResolvedSource:
    labels: list[str]
    splits: dict[str, Split]


# -- labels ----------------------------------------------------------------------------------------
def _read_labels_file(data: DataConfig, base: Path, allow_duplicates: bool = False) -> list[str] | None:
    if data.labels is None:
        return None
    p = _path(data.labels, base)
    if not p.is_file():
        raise DataError(f"data.labels: the labels file {p} does not exist",
                        "give a text file with one class name per line, relative to edgekit.yaml")
    names = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not names:
        raise DataError(f"data.labels: {p} names no classes", "write one class name per line")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup and not allow_duplicates:  # folder/CSV names must map to one class each; factory ids need not
        raise DataError(f"data.labels: {p} names class '{dup[0]}' more than once", "list each class once")
    return names


def _order_classes(found: set[str], data: DataConfig, base: Path, where: str) -> list[str]:
    given = _read_labels_file(data, base)
    if given is None:
        return natural_sorted(found)
    missing = natural_sorted(found - set(given))
    extra = natural_sorted(set(given) - found)
    if missing or extra:
        what = []
        if missing:
            what.append(f"{where} has class(es) {', '.join(missing[:5])} not in the labels file")
        if extra:
            what.append(f"the labels file names {', '.join(extra[:5])} not found in {where}")
        raise DataError(f"data.labels disagrees with the data: {'; '.join(what)}",
                        "make the labels file list exactly the class folders/labels, or drop data.labels")
    return given


def _path(p: str, base: Path) -> Path:
    q = Path(p).expanduser()
    return q if q.is_absolute() else base / q


# -- ImageFolder -----------------------------------------------------------------------------------
def _class_dirs(folder: Path, key: str) -> dict[str, list[str]]:
    """{class name: sorted image file names relative to ``folder``} for each sub-folder."""
    if not folder.is_dir():
        raise DataError(f"{key}: the data folder {folder} does not exist",
                        "point it at a folder with one sub-folder of images per class")
    out: dict[str, list[str]] = {}
    for d in sorted(folder.iterdir()):
        if d.is_dir() and not d.name.startswith("."):
            files = [
                str(f.relative_to(folder))
                for f in sorted(d.rglob("*"))
                if f.is_file() and f.suffix.lower() in IMAGE_EXTS and not f.name.startswith(".")
            ]
            out[d.name] = natural_sorted(files)
    if not out:
        raise DataError(f"{key}: the data folder {folder} is empty (no class sub-folders)",
                        "put the images in one sub-folder per class, e.g. cats/ and dogs/")
    empty = [c for c, fs in out.items() if not fs]
    if empty:
        raise DataError(f"{key}: class '{empty[0]}' in {folder} has no images",
                        "add images (png/jpg/bmp/webp/tif) to it, or remove the folder")
    if len(out) == 1:
        raise DataError(f"{key}: the data folder {folder} holds one class only ('{next(iter(out))}')",
                        "a classifier needs at least two class sub-folders")
    return out


def _stratified(labels: np.ndarray, fraction: float, seed: int, key: str, names: list[str]) -> np.ndarray:
    """A boolean mask of held-out items: per class, round(fraction * n) (at least 1) chosen by a seeded
    permutation; every class keeps at least one training item."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for c in range(len(names)):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            raise DataError(f"{key}: class '{names[c]}' has {len(idx)} image(s): "
                            "too few to hold out a val split",
                            "add images to it, or give a separate val/ folder")
        k = min(len(idx) - 1, max(1, int(round(fraction * len(idx)))))
        held[idx[rng.permutation(len(idx))[:k]]] = True
    return held


def _file_split(root: Path, rel: list[str], labels: list[int]) -> FileSplit:
    enc = np.array([r.encode() for r in rel], dtype=np.bytes_) if rel else np.zeros(0, dtype="S1")
    return FileSplit(str(root), enc, np.asarray(labels, dtype=np.int64))


def _image_folder(src: ImageFolderSource, data: DataConfig, base: Path, key: str,
                  whole: bool = False) -> ResolvedSource:
    """``whole``: an extra named split (data.splits): class folders taken whole, no val split."""
    root = _path(src.root, base)
    if not root.is_dir():
        raise DataError(f"{key}.root: the data folder {root} does not exist",
                        "point data.source.root at your ImageFolder (class sub-folders, or train/ and val/)")
    if (root / "train").is_dir():
        train = _class_dirs(root / "train", f"{key}.root")
        if (root / "val").is_dir():
            if src.val_fraction is not None:
                raise DataError(f"{key}.val_fraction: {root} has a val/ folder and val_fraction is set",
                                "drop val_fraction, or remove val/")
            val = _class_dirs(root / "val", f"{key}.root")
            if set(val) != set(train):
                only_t = natural_sorted(set(train) - set(val))
                only_v = natural_sorted(set(val) - set(train))
                raise DataError(
                    f"{key}.root: train and val class sets differ in {root} (only in train: "
                    f"{', '.join(only_t[:5]) or '-'}; only in val: {', '.join(only_v[:5]) or '-'})",
                    "give train/ and val/ the same class sub-folders",
                )
            classes = _order_classes(set(train), data, base, str(root))
            ix = {c: i for i, c in enumerate(classes)}

            def flat(d: dict[str, list[str]], sub: str) -> tuple[list[str], list[int]]:
                rel, lab = [], []
                for c in classes:
                    rel += [f"{sub}/{f}" for f in d[c]]
                    lab += [ix[c]] * len(d[c])
                return rel, lab

            return ResolvedSource(classes, {"train": _file_split(root, *flat(train, "train")),
                                            "val": _file_split(root, *flat(val, "val"))})
        if src.val_fraction is None:
            raise DataError(f"{key}: {root} has train/ but no val/ folder",
                            "add val/ with the same class folders, or set data.source.val_fraction: 0.2")
        folders, prefix = train, "train/"
    else:
        if src.val_fraction is None and not whole:
            raise DataError(f"{key}: {root} has class folders but no train/ and val/ split",
                            "set data.source.val_fraction (e.g. 0.2), or split it into train/ and val/")
        folders, prefix = _class_dirs(root, f"{key}.root"), ""
    classes = _order_classes(set(folders), data, base, str(root))
    rel: list[str] = []
    lab: list[int] = []
    for i, c in enumerate(classes):
        rel += [prefix + f for f in folders[c]]
        lab += [i] * len(folders[c])
    labels = np.asarray(lab, dtype=np.int64)
    everything = _file_split(root, rel, lab)
    if src.val_fraction is None:
        return ResolvedSource(classes, {"train": everything})
    held = _stratified(labels, src.val_fraction, src.seed, f"{key}.val_fraction", classes)
    return ResolvedSource(classes, {"train": everything.take(np.flatnonzero(~held)),
                                    "val": everything.take(np.flatnonzero(held))})


# -- CSV -------------------------------------------------------------------------------------------
def _read_csv(p: Path, key: str) -> list[tuple[str, str]]:
    if not p.is_file():
        raise DataError(f"{key}: the CSV file {p} does not exist", "give a CSV of path,label rows")
    rows: list[tuple[str, str]] = []
    with p.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != 2:
                raise DataError(f"{key}: {p}:{n} has {len(row)} columns, expected path,label",
                                "write one 'path,label' pair per line")
            path, label = row[0].strip(), row[1].strip()
            if n == 1 and (path.lower(), label.lower()) == ("path", "label"):
                continue
            if not path or not label:
                raise DataError(f"{key}: {p}:{n} has an empty path or label", "fill both columns")
            rows.append((path, label))
    if not rows:
        raise DataError(f"{key}: the CSV file {p} has no rows", "write one 'path,label' pair per line")
    return rows


def _csv(src: CsvSource, data: DataConfig, base: Path, key: str, whole: bool = False) -> ResolvedSource:
    tp = _path(src.train, base)
    train = _read_csv(tp, f"{key}.train")
    root = _path(src.root, base) if src.root is not None else tp.parent
    val = _read_csv(_path(src.val, base), f"{key}.val") if src.val is not None else None
    found = {lab for _, lab in train}
    if len(found) < 2:
        raise DataError(f"{key}.train: {tp} has one class only ('{next(iter(found))}')",
                        "a classifier needs at least two labels")
    if val is not None and {lab for _, lab in val} != found:
        only_v = natural_sorted({lab for _, lab in val} - found)
        only_t = natural_sorted(found - {lab for _, lab in val})
        raise DataError(f"{key}: train and val class sets differ "
                        f"(only in train: {', '.join(only_t[:5]) or '-'};"
                        f" only in val: {', '.join(only_v[:5]) or '-'})", "give both CSVs the same labels")
    classes = _order_classes(found, data, base, str(tp))
    ix = {c: i for i, c in enumerate(classes)}
    tr = _file_split(root, [p for p, _ in train], [ix[lab] for _, lab in train])
    if val is not None:
        return ResolvedSource(classes, {"train": tr, "val": _file_split(root, [p for p, _ in val],
                                                                         [ix[lab] for _, lab in val])})
    if whole and src.val_fraction is None:
        return ResolvedSource(classes, {"train": tr})
    if src.val_fraction is None:
        raise DataError(f"{key}: no val split", "set data.source.val (a CSV) or data.source.val_fraction")
    held = _stratified(tr.labels, src.val_fraction, src.seed, f"{key}.val_fraction", classes)
    return ResolvedSource(classes, {"train": tr.take(np.flatnonzero(~held)),
                                    "val": tr.take(np.flatnonzero(held))})


# -- factory ---------------------------------------------------------------------------------------
def _factory_split(src: FactorySource, base: Path, key: str, split: str) -> tuple[FactorySplit | None, Any]:
    from edgekit.project.factory import resolve

    fn = resolve(src.factory, base, f"{key}.factory")
    try:
        obj = fn(split=split, **src.kwargs)
    except Exception as exc:
        raise DataError(f"{key}.factory: {src.factory}(split='{split}') raised {type(exc).__name__}: {exc}",
                        f"fix the factory or {key}.kwargs") from exc
    if obj is None:
        return None, None
    is_seq = hasattr(obj, "__len__") and hasattr(obj, "__getitem__")
    if not is_seq and not isinstance(obj, Iterable):
        raise DataError(f"{key}.factory: {src.factory} returned a {type(obj).__name__}, "
                        "not (image, label) items",
                        "return a sequence or an iterable of (uint8 image, int label)")
    hint = getattr(obj, "labels", None)
    hint_arr = np.asarray(hint, dtype=np.int64) if isinstance(hint, Sequence | np.ndarray) else None
    return FactorySplit(obj, is_seq, hint_arr), getattr(obj, "classes", None)


def _factory(src: FactorySource, data: DataConfig, base: Path, key: str) -> ResolvedSource:
    splits: dict[str, Split] = {}
    classes: Any = None
    for name in ("train", "val"):
        sp, cls = _factory_split(src, base, key, name)
        if sp is not None:
            splits[name] = sp
            classes = classes or cls
    if "val" not in splits:
        raise DataError(f"{key}.factory: {src.factory} gives no 'val' split",
                        "return items for split='val' (held out from training)")
    given = _read_labels_file(data, base, allow_duplicates=True)  # ids index it (ImageNet has duplicates)
    if given is not None:
        if classes is not None and list(classes) != given:
            raise DataError(f"data.labels disagrees with {src.factory}'s classes",
                            "drop data.labels, or fix it")
        names = given
    elif classes is not None:
        names = [str(c) for c in classes]
    else:
        raise DataError(f"{key}.factory: {src.factory} gives no class names",
                        "set data.labels (a file of class names), or give the result a 'classes' attribute")
    if len(names) < 2:
        raise DataError(f"{key}.factory: {src.factory} has one class only", "a classifier needs two or more")
    return ResolvedSource(names, splits)


def resolve_source(data: DataConfig, base: Path, fast: bool = False) -> ResolvedSource:
    """The class names and the splits (``train``, ``val`` and ``data.splits``), checked. ``fast``: a
    coco source's factory is asked for its small variant."""
    src = data.source
    if isinstance(src, CocoSource | YoloSource):
        from edgekit.data.detection import resolve_detection

        res = resolve_detection(src, data, base, "data.source", fast)
    elif isinstance(src, ImageFolderSource):
        res = _image_folder(src, data, base, "data.source")
    elif isinstance(src, CsvSource):
        res = _csv(src, data, base, "data.source")
    else:
        res = _factory(src, data, base, "data.source")
    for name, extra in data.splits.items():
        key = f"data.splits.{name}"
        if isinstance(extra, CocoSource | YoloSource) or isinstance(src, CocoSource | YoloSource):
            raise DataError(f"{key}: extra splits of a detection dataset are not supported yet",
                            "use data.source's train/val; calibration and golden draw from them")
        if isinstance(extra, FactorySource):
            sp, _ = _factory_split(extra, base, key, name)
            if sp is None:
                raise DataError(f"{key}: {extra.factory}(split='{name}') returned None", "return the items")
            res.splits[name] = sp
        else:
            sub = _image_folder(extra, data, base, key, whole=True) if isinstance(extra, ImageFolderSource) \
                else _csv(extra, data, base, key, whole=True)
            if sub.labels != res.labels:
                raise DataError(f"{key}: its classes differ from data.source's", "use the same classes")
            res.splits[name] = sub.splits["train"]
    return res


def resolve_labels(data: DataConfig, base: Path) -> list[str]:
    """Class names, index = class id (natural sort, or the labels file). A coco factory is asked for its
    fast variant here (it must have the same categories): names need no full dataset written."""
    fast = isinstance(data.source, CocoSource) and data.source.factory is not None
    return resolve_source(data, base, fast).labels


def load_example_data(data: DataConfig, base: Path, spec: Any, fast: bool = False) -> Any:
    """INTERIM: see edgekit.data.engine.load_example_data (re-exported here for the project loader)."""
    from edgekit.data.engine import load_example_data as load

    return load(data, base, spec, fast)
