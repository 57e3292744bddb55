"""COCO detection JSON -> ``DetectionSplit`` (indexed by pycocotools 2.0.11).

``images[]`` (id, file_name relative to the images folder, width, height), ``annotations[]`` (image_id,
category_id, bbox [x, y, w, h] in image pixels, optional iscrowd) and ``categories[]`` (id, name). Class id
k = the k-th category by ascending id (or the order of ``data.labels``, which must name the same
categories). Malformed entries are one ``DataError`` line naming the file, the entry and the fix; boxes
outside / of zero area / crowd boxes and images missing on disk are counted (``BoxSkips``).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.data.config import CocoFiles, CocoSource, DataConfig
from edgekit.data.detection import BoxSkips, DetectionSplit, clean_boxes, make_split, val_split
from edgekit.data.sources import DataError, ResolvedSource, _order_classes, _path

FIX_FORMAT = "write COCO detection JSON: images[{id, file_name, width, height}], " \
             "annotations[{id, image_id, category_id, bbox: [x, y, w, h]}], categories[{id, name}]"


def _load(p: Path, key: str) -> Any:
    """A pycocotools COCO index over the checked JSON."""
    from pycocotools.coco import COCO

    if not p.is_file():
        raise DataError(f"{key}.annotations: the COCO file {p} does not exist",
                        "give the path of a COCO JSON, relative to edgekit.yaml")
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{key}.annotations: {p} is not readable JSON ({exc})", FIX_FORMAT) from exc
    if not isinstance(d, dict):
        raise DataError(f"{key}.annotations: {p} holds a {type(d).__name__}, not a COCO object", FIX_FORMAT)
    for k in ("images", "annotations", "categories"):
        if not isinstance(d.get(k), list):
            raise DataError(f"{key}.annotations: {p} has no '{k}' list", FIX_FORMAT)
    for what in ("images", "annotations", "categories"):
        for n, e in enumerate(d[what]):
            if not isinstance(e, dict) or "id" not in e:
                raise DataError(f"{key}.annotations: {p} {what}[{n}] has no 'id'", FIX_FORMAT)
        ids = [e["id"] for e in d[what]]
        if len(set(map(str, ids))) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise DataError(f"{key}.annotations: {p} has {what} id {dup} more than once", "make ids unique")
    coco = COCO()
    coco.dataset = d
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco.createIndex()
    return coco


def _categories(coco: Any, p: Path, key: str) -> list[tuple[int, str]]:
    cats = []
    for c in coco.dataset["categories"]:
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"{key}.annotations: {p} category id {c['id']} has no name", FIX_FORMAT)
        cats.append((int(c["id"]), name.strip()))
    if not cats:
        raise DataError(f"{key}.annotations: {p} has no categories", "list the classes in 'categories'")
    names = [n for _, n in cats]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"{key}.annotations: {p} names category '{dup[0]}' more than once",
                        "give each category a distinct name")
    return sorted(cats)


def _split(files: CocoFiles, coco: Any, p: Path, cat_index: dict[int, int], base: Path, key: str,
           max_bad: float) -> DetectionSplit:
    images = _path(files.images, base) if files.images is not None else p.parent
    if not images.is_dir():
        raise DataError(f"{key}.images: the images folder {images} does not exist",
                        "point it at the folder that images[].file_name is relative to")
    skips = BoxSkips()
    img_ids = set(coco.imgs)
    for a in coco.dataset["annotations"]:
        if a.get("image_id") not in img_ids:
            raise DataError(f"{key}.annotations: {p} annotation id {a['id']} references image_id "
                            f"{a.get('image_id')!r}, which is not in images",
                            "add the image to 'images' or remove the annotation")
        if a.get("category_id") not in cat_index:
            known = sorted(cat_index)
            raise DataError(f"{key}.annotations: {p} annotation id {a['id']} has unknown category_id "
                            f"{a.get('category_id')!r} (categories: ids {known[0]}..{known[-1]})",
                            "use a category id listed in 'categories', or add that category")
        bb = a.get("bbox")
        if not (isinstance(bb, list) and len(bb) == 4 and all(isinstance(v, int | float) for v in bb)
                and all(np.isfinite(bb))):
            raise DataError(f"{key}.annotations: {p} annotation id {a['id']} has bbox {bb!r}, "
                            "not 4 finite numbers", "write bbox as [x, y, width, height] in image pixels")
        if bb[2] < 0 or bb[3] < 0:
            raise DataError(f"{key}.annotations: {p} annotation id {a['id']} has a negative size "
                            f"(bbox {bb})", "write bbox as [x, y, width, height] with width, height >= 0 "
                            "(not x1, y1, x2, y2)")
    rel: list[str] = []
    per: list[tuple[np.ndarray, np.ndarray]] = []
    missing = 0
    for img_id in sorted(coco.imgs, key=lambda i: str(coco.imgs[i].get("file_name", ""))):
        im = coco.imgs[img_id]
        fn, w, h = im.get("file_name"), im.get("width"), im.get("height")
        if not isinstance(fn, str) or not fn:
            raise DataError(f"{key}.annotations: {p} image id {img_id} has no file_name", FIX_FORMAT)
        if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
            raise DataError(f"{key}.annotations: {p} image id {img_id} ({fn}) has width/height "
                            f"{w!r}/{h!r}", "give each image its positive integer width and height")
        if not (images / fn).is_file():
            missing += 1
            skips.add("missing_image", str(images / fn))
            continue
        anns = coco.imgToAnns.get(img_id, [])
        crowd = [a for a in anns if a.get("iscrowd", 0)]
        if crowd:
            skips.add("crowd", f"{fn} (annotation id {crowd[0]['id']})", len(crowd))
        anns = [a for a in anns if not a.get("iscrowd", 0)]
        xywh = np.asarray([a["bbox"] for a in anns], np.float64).reshape(-1, 4)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        keep = clean_boxes(xyxy, float(w), float(h), [f"{fn} (annotation id {a['id']})" for a in anns], skips)
        cls = np.asarray([cat_index[a["category_id"]] for a in anns], np.int64)
        rel.append(fn)
        per.append((xyxy[keep], cls[keep]))
    total = len(coco.imgs)
    if total == 0:
        raise DataError(f"{key}.annotations: {p} lists no images", "add images to 'images'")
    if missing > max_bad * total or not rel:
        first = skips.examples["missing_image"][0]
        raise DataError(f"{key}: {missing} of {total} images named by {p} are missing (e.g. {first}): "
                        f"more than data.max_bad_fraction={max_bad}",
                        f"put the images under {images}, fix {key}.images, or raise data.max_bad_fraction")
    return make_split(images, rel, per, False, skips)


def _factory_files(src: CocoSource, base: Path, key: str, fast: bool) -> dict[str, CocoFiles]:
    from edgekit.project.factory import resolve

    assert src.factory is not None
    fn = resolve(src.factory, base, f"{key}.factory")
    try:
        got = fn(fast=fast, **src.kwargs)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{key}.factory: {src.factory}(fast={fast}) raised {type(exc).__name__}: {exc}",
                        f"fix the factory or {key}.kwargs") from exc
    if not isinstance(got, dict) or "train" not in got or "val" not in got:
        raise DataError(f"{key}.factory: {src.factory} returned {type(got).__name__}, not "
                        "{'train': CocoFiles, 'val': CocoFiles}", "return the two splits' files")
    return {k: v if isinstance(v, CocoFiles) else CocoFiles.model_validate(v) for k, v in got.items()}


def resolve_coco(src: CocoSource, data: DataConfig, base: Path, key: str,
                 fast: bool = False) -> ResolvedSource:
    files = _factory_files(src, base, key, fast) if src.factory is not None else {
        k: v for k, v in (("train", src.train), ("val", src.val)) if v is not None}
    loaded = {}
    for name, f in files.items():
        p = _path(f.annotations, base)
        loaded[name] = (p, _load(p, f"{key}.{name}"))
    cats: list[tuple[int, str]] | None = None
    for name, (p, coco) in loaded.items():
        c = _categories(coco, p, f"{key}.{name}")
        if cats is not None and c != cats:
            raise DataError(f"{key}.{name}: {p} has other categories than the train split's",
                            "give every split the same categories (id and name)")
        cats = c
    assert cats is not None
    names = [n for _, n in cats] if data.labels is None else \
        _order_classes({n for _, n in cats}, data, base, str(loaded["train"][0]))
    cat_index = {cid: names.index(n) for cid, n in cats}
    splits = {name: _split(files[name], coco, p, cat_index, base, f"{key}.{name}", data.max_bad_fraction)
              for name, (p, coco) in loaded.items()}
    if "val" not in splits:
        if src.val_fraction is None:
            raise DataError(f"{key}: no val split", "set data.source.val (a COCO file) or val_fraction")
        splits["train"], splits["val"] = val_split(splits["train"], src.val_fraction, src.seed,
                                                   f"{key}.val_fraction")
    return ResolvedSource(names, dict(splits))
