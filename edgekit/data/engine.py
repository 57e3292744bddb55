"""The streaming data engine: each item is decoded, augmented (training only) and put through
``edgekit.preprocess`` inside torch DataLoader worker processes.

Nothing holds the dataset's pixels: a ``StreamDataset`` holds a split (paths as a numpy bytes array, or the
user's factory sequence) and produces one tensor per ``__getitem__``; memory is bounded by
batch size x workers (x the DataLoader's prefetch factor). An optional disk cache keeps decoded uint8
images (before augmentation) for small datasets. An unreadable image is skipped, counted and named;
past ``data.max_bad_fraction`` of a split the build fails with one line.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from edgekit.data.augment import Augmenter, build_augmenter
from edgekit.data.box_augment import BoxAugmenter, build_box_augmenter
from edgekit.data.config import AugmentConfig, CocoSource, DataConfig, YoloSource
from edgekit.data.detection import BoxSkips, DetectionSplit
from edgekit.data.sources import DataError, FactorySplit, FileSplit, ResolvedSource, Split, resolve_source
from edgekit.errors import InputError
from edgekit.preprocess import python_impl
from edgekit.preprocess.spec import CenterCrop, Decode, PreprocessSpec, Resize

BAD = -1  # the label of a skipped item inside a worker's output


# -- one item --------------------------------------------------------------------------------------
def preprocess_decoded(spec: PreprocessSpec, img: np.ndarray, augment: Augmenter | None) -> np.ndarray:
    """Decoded uint8 HxWxC -> float32 CxHxW (or HxWxC for NHWC) through the spec, with ``augment`` (if
    any) between the spec's uint8 steps and its float steps."""
    if augment is None:
        return python_impl.run(spec, img)[0][0]
    x = img if img.ndim == 3 else img[:, :, None]
    steps = spec.steps[1:]
    n_u8 = next(i for i, s in enumerate(steps) if s.op == "to_float")
    for s in steps[:n_u8]:
        if augment.replaces_geometry and isinstance(s, Resize | CenterCrop):
            continue
        x = python_impl.apply_step(s, x)
    x = augment(x)
    for s in steps[n_u8:]:
        x = python_impl.apply_step(s, x)
    return np.asarray(x[0])


def _check_decoded(img: Any, decode: Decode, what: str) -> np.ndarray:
    a = np.asarray(img)
    a = a[:, :, None] if a.ndim == 2 else a
    want = 1 if decode.color == "gray" else 3
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != want:
        raise DataError(f"{what}: the factory gave a {a.dtype} image of shape {tuple(np.shape(img))}",
                        f"yield uint8 HxW{'' if want == 1 else 'x3 BGR'} images "
                        "(the decode step's colour order)")
    return a


class DecodedCache:
    """Decoded uint8 images on disk, one .npy per file, keyed by path, size, mtime and the decode step."""

    def __init__(self, root: Path, decode: Decode) -> None:
        self.root = root
        self.salt = json.dumps(decode.model_dump(), sort_keys=True)
        root.mkdir(parents=True, exist_ok=True)

    def _key(self, path: str) -> Path:
        st = os.stat(path)
        h = hashlib.sha1(f"{path}|{st.st_size}|{st.st_mtime_ns}|{self.salt}".encode()).hexdigest()
        return self.root / h[:2] / f"{h}.npy"

    def get(self, path: str) -> np.ndarray | None:
        try:
            return np.load(self._key(path))  # type: ignore[no-any-return]
        except (OSError, ValueError, EOFError):
            return None

    def put(self, path: str, img: np.ndarray) -> None:
        try:
            p = self._key(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_name(f"{p.stem}.tmp-{os.getpid()}.npy")
            np.save(tmp, img)
            os.replace(tmp, p)
        except OSError:
            pass  # an optimisation only


def _target(label: Any) -> Any:
    """A factory item's label: an int class id (None: unlabeled, -2), or a detection target passed through
    as a float32 tensor [max_boxes, 5] (class_id, x1, y1, x2, y2 in network-input pixels, class_id -1 =
    padding; /work/notes/DET.md). det-model: the factory's boxes must already be in network-input pixels (no
    geometry or augmentation is applied to them here)."""
    if label is None:
        return -2
    if isinstance(label, np.ndarray | torch.Tensor) and np.ndim(label) == 2:
        return torch.as_tensor(np.asarray(label, dtype=np.float32))
    return int(label)


def _is_bad(label: Any) -> bool:
    return isinstance(label, int) and label == BAD


class StreamDataset(Dataset):  # type: ignore[type-arg]
    """A map-style dataset over one split: item i -> (float32 tensor, int64 label, index); for a
    ``DetectionSplit`` the label is the float32 [max_boxes, 5] target (edgekit/data/detection_items.py).
    A file that does not decode gives label ``BAD``; ``make_loader`` drops it and counts it."""

    def __init__(self, name: str, split: Split, spec: PreprocessSpec,
                 augment: Augmenter | BoxAugmenter | None = None, cache: DecodedCache | None = None,
                 indices: np.ndarray | None = None, max_boxes: int = 50) -> None:
        if isinstance(split, FactorySplit) and not split.sequence:
            raise DataError(f"split '{name}': the factory gives an iterable without len/indexing",
                            "return a sequence (len + [i]) for splits that are trained or evaluated on")
        self.name = name
        self.split = split
        self.spec = spec
        self.augment = augment
        self.cache = cache
        self.indices = indices  # a subset of the split (calibration/golden draws, --fast)
        self.max_boxes = max_boxes
        if isinstance(augment, BoxAugmenter) != (isinstance(split, DetectionSplit) and augment is not None):
            raise TypeError("a detection split takes a BoxAugmenter, a classification split an Augmenter")
        first = spec.steps[0]
        assert isinstance(first, Decode)
        self.decode_step = first

    def __len__(self) -> int:
        return len(self.indices) if self.indices is not None else len(self.split)

    def source_index(self, i: int) -> int:
        return int(self.indices[i]) if self.indices is not None else int(i)

    def name_of(self, i: int) -> str:
        j = self.source_index(i)
        return self.split.path(j) if isinstance(self.split, FileSplit | DetectionSplit) \
            else f"{self.name}[{j}]"

    def decoded(self, i: int) -> tuple[np.ndarray, Any]:
        """(decoded uint8 HxWxC, label); InputError for a file that does not decode."""
        j = self.source_index(i)
        if isinstance(self.split, FileSplit | DetectionSplit):
            path = self.split.path(j)
            img = self.cache.get(path) if self.cache is not None else None
            if img is None:
                img = python_impl.decode(self.decode_step, path)
                if self.cache is not None:
                    self.cache.put(path, img)
            return img, (int(self.split.labels[j]) if isinstance(self.split, FileSplit) else -2)
        item = self.split.items[j]
        img, label = item
        return _check_decoded(img, self.decode_step, f"split '{self.name}' item {j}"), _target(label)

    def _item(self, i: int) -> tuple[np.ndarray, Any]:
        """(preprocessed float32 array, label) of item i: an int class id, or for a detection split the
        float32 [max_boxes, 5] target (boxes through the augment and the spec's geometry). InputError for a
        file that does not decode."""
        img, label = self.decoded(i)
        if isinstance(self.split, DetectionSplit):
            from edgekit.data.detection_items import detection_item

            boxes, classes = self.split.targets(self.source_index(i), img.shape[0], img.shape[1])
            aug = self.augment if isinstance(self.augment, BoxAugmenter) else None
            xd, target = detection_item(self.spec, img, boxes, classes, aug, self.max_boxes)
            return np.ascontiguousarray(xd), torch.from_numpy(target)
        assert not isinstance(self.augment, BoxAugmenter)
        return np.ascontiguousarray(preprocess_decoded(self.spec, img, self.augment)), label

    def __getitem__(self, i: int) -> tuple[torch.Tensor, Any, int]:
        try:
            x, label = self._item(i)
        except InputError:
            return torch.zeros(0), BAD, int(i)
        return torch.from_numpy(x), label, int(i)

    def __getitems__(self, idx: list[int]) -> Batch:
        """A whole batch (what the DataLoader asks a worker for): each item is preprocessed and copied
        straight into one batch tensor (shared memory inside a worker), so a worker holds one batch plus
        one item, not the batch's items and their stacked copy (2x). Same values, same order, same
        augmentation draws as ``__getitem__`` item by item."""
        x: torch.Tensor | None = None
        labels: list[Any] = []
        bad: list[int] = []
        for i in idx:
            try:
                arr, label = self._item(i)
            except InputError:
                bad.append(int(i))
                continue
            a = torch.from_numpy(arr)
            if x is None:
                x = _batch_tensor((len(idx), *a.shape), a.dtype)
            elif tuple(a.shape) != tuple(x.shape[1:]):
                raise DataError(f"split '{self.name}': item {self.name_of(i)} preprocesses to shape "
                                f"{tuple(a.shape)}, the batch's first item to {tuple(x.shape[1:])}",
                                "give every item the spec's input size (check the augment and resize steps)")
            x[len(labels)].copy_(a)
            labels.append(label)
            del a, arr
        if x is None:
            return Batch(torch.zeros(0), torch.zeros(0, dtype=torch.int64), bad)
        if labels and isinstance(labels[0], torch.Tensor):  # detection targets [max_boxes, 5]
            y = torch.stack(labels)
        else:
            y = torch.tensor(labels, dtype=torch.int64)
        return Batch(x[: len(labels)], y, bad)


@dataclass
class Batch:
    """A collated batch: decodable items stacked (x, y), and the indices of the undecodable ones."""

    x: torch.Tensor
    y: torch.Tensor
    bad: list[int]


def _batch_tensor(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor for a batch: in a DataLoader worker, in shared memory from the start (as
    torch's default_collate allocates it), so sending it to the main process copies nothing."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = int(np.prod(shape))
    storage = torch.empty(0, dtype=dtype)._typed_storage()._new_shared(numel)
    return torch.empty(0, dtype=dtype).new(storage).view(shape)


# -- bad images ------------------------------------------------------------------------------------
@dataclass
class BadImages:
    """Undecodable images per split (unique names), checked against ``max_fraction``."""

    max_fraction: float = 0.01
    names: dict[str, set[str]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.names.values())

    def add(self, split: str, name: str, total: int) -> None:
        s = self.names.setdefault(split, set())
        s.add(name)
        if len(s) > self.max_fraction * total:
            first = ", ".join(sorted(s)[:3])
            raise DataError(
                f"{len(s)} of {total} images of split '{split}' do not decode (e.g. {first}): more than "
                f"data.max_bad_fraction={self.max_fraction}",
                "remove or replace the broken files, or raise data.max_bad_fraction",
            )

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "names": {k: sorted(v) for k, v in self.names.items()}}


def _collate(batch: Batch | list[tuple[torch.Tensor, Any, int]],
             ) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """A ``Batch`` from ``StreamDataset.__getitems__`` as is; else (items from ``__getitem__``) torch's
    default_collate over the decodable items (in a worker it stacks straight into shared memory), plus
    the indices of the undecodable ones."""
    from torch.utils.data import default_collate

    if isinstance(batch, Batch):
        return batch.x, batch.y, batch.bad
    good = [(b[0], b[1]) for b in batch if not _is_bad(b[1])]
    bad = [b[2] for b in batch if _is_bad(b[1])]
    if not good:
        return torch.zeros(0), torch.zeros(0, dtype=torch.int64), bad
    x, y = default_collate(good)
    return x, y, bad


def _worker_init(worker_id: int) -> None:
    info = torch.utils.data.get_worker_info()
    assert info is not None
    seed = info.seed % (2**32)  # DataLoader's per-worker seed: base seed (from the epoch's generator) + id
    np.random.seed(seed)
    torch.set_num_threads(1)
    ds = info.dataset
    if isinstance(ds, StreamDataset) and ds.augment is not None:
        ds.augment.seed(seed)


_FROZEN = 0


@functools.cache
def _libc() -> Any:
    import ctypes
    import ctypes.util

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return lib if hasattr(lib, "malloc_trim") else None
    except OSError:
        return None


def release_free_heap() -> None:
    """Hand the C heap's free pages back to the OS (glibc ``malloc_trim(0)``; a no-op elsewhere), so that
    what earlier stages freed (batches, ONNX Runtime buffers) is not carried into the next forked workers
    as retained heap. Changes no value anyone computes."""
    lib = _libc()
    if lib is not None:
        lib.malloc_trim(0)


@contextlib.contextmanager
def _frozen_heap(active: bool) -> Iterator[None]:
    """``gc.freeze()`` while DataLoader workers are alive. The workers are forked from the main process
    and share its heap copy-on-write; a garbage collection in a worker (or in the main process) writes
    to the header of every tracked object it visits and so copies each page of the main heap that holds
    one. Frozen objects are never visited: the shared pages stay shared (the Python docs' advice for
    fork without exec). Unfrozen again when the epoch's workers are gone (nesting-safe)."""
    global _FROZEN
    if not active:
        yield
        return
    if _FROZEN == 0:
        # no gc.collect() first: a full collection of a torch process takes ~0.1 s, a quarter of a small
        # epoch (the speed bench's 540 images at ~1,500 images/s fell to 0.65x); cycles that are garbage
        # now are merely collected after the epoch instead
        release_free_heap()
        gc.freeze()
    _FROZEN += 1
    try:
        yield
    finally:
        _FROZEN -= 1
        if _FROZEN == 0:
            gc.unfreeze()


class Stream:
    """Batches of (x, y) from a StreamDataset through a DataLoader; bad items are dropped and counted.
    ``epoch(e)`` gives a seeded order (and seeded worker augmentation) per epoch, so a resumed run draws
    the same batches as an uninterrupted one."""

    def __init__(self, ds: StreamDataset, batch_size: int, num_workers: int = 0, shuffle: bool = False,
                 seed: int = 0, bad: BadImages | None = None, drop_last: bool = False,
                 prefetch: int = 2) -> None:
        if len(ds) == 0:
            raise DataError(f"split '{ds.name}' has no items",
                            "give it images (a comparison over zero items fails)")
        self.ds = ds
        self.batch_size = batch_size
        self.num_workers = max(0, int(num_workers))
        self.shuffle = shuffle
        self.seed = seed
        self.bad = bad if bad is not None else BadImages()
        self.drop_last = drop_last
        self.prefetch = max(1, int(prefetch))  # batches each worker may hold ready (DataLoader's factor)
        self.seen = 0

    def __len__(self) -> int:
        n = len(self.ds)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size

    def epoch(self, e: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + e)
        if self.num_workers == 0 and self.ds.augment is not None:
            self.ds.augment.seed(self.seed * 7919 + e)  # workers are seeded by _worker_init instead
        loader = DataLoader(
            self.ds, batch_size=self.batch_size, shuffle=self.shuffle, num_workers=self.num_workers,
            collate_fn=_collate, generator=gen, worker_init_fn=_worker_init if self.num_workers else None,
            drop_last=self.drop_last, persistent_workers=False, pin_memory=False,
            prefetch_factor=self.prefetch if self.num_workers else None,
        )
        total = len(self.ds)
        with _frozen_heap(self.num_workers > 0):
            it = iter(loader)  # the workers fork here (persistent_workers=False: once per epoch)
            for x, y, bad in it:
                for i in bad:
                    self.bad.add(self.ds.name, self.ds.name_of(i), total)
                if len(y) == 0:
                    continue
                self.seen += len(y)
                yield x, y
                del x, y  # not held while the next batch is fetched (the consumer drops its own)
            del it

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.epoch(0)


EVAL_PREFETCH = 1
"""Batches each worker holds ready in evaluation/calibration streams. Training keeps the DataLoader's 2 (its
speed depends on it); evaluation is bound by the forward in the main process (ONNX Runtime, fake-quant
models: the build's largest main process), so one ready batch per worker keeps both workers busy while
the bound, batch size x workers x prefetch, drops by one batch per worker. With 2, a held-out split with
enough batches to fill every worker's prefetch (20,000 images) peaked ~2 batches above a small one (2,000)."""


def make_loader(ds: StreamDataset, batch_size: int, num_workers: int = 0, shuffle: bool = False,
                seed: int = 0, bad: BadImages | None = None, prefetch: int = 2) -> Stream:
    return Stream(ds, batch_size, num_workers, shuffle, seed, bad, prefetch=prefetch)


# -- the splits of a project -----------------------------------------------------------------------
@dataclass
class Splits:
    labels: list[str]
    train: StreamDataset | None
    eval: StreamDataset
    calib: StreamDataset
    golden: list[Any]  # list[edgekit.examples.base.GoldenSample]
    bad: BadImages
    counts: dict[str, int]
    source: ResolvedSource

    def box_skips(self) -> dict[str, dict[str, Any]]:
        """Detection: what the readers clipped or skipped and why, per split ({} for classification)."""
        return {name: sp.skipped.as_dict() for name, sp in self.source.splits.items()
                if isinstance(sp, DetectionSplit) and sp.skipped.counts}

    def box_skip_lines(self) -> list[str]:
        """One line per split and reason; a val_fraction split shares its source's counts (said once)."""
        seen: dict[int, list[str]] = {}
        for name, sp in self.source.splits.items():
            if isinstance(sp, DetectionSplit) and sp.skipped.counts:
                seen.setdefault(id(sp.skipped), []).append(name)
        out: list[str] = []
        for names in seen.values():
            sk: BoxSkips = self.source.splits[names[0]].skipped  # type: ignore[union-attr]
            out += [f"{'/'.join(names)}: {ln}" for ln in sk.lines()]
        return out


def draw(split: Split, count: int, seed: int, labels: np.ndarray | None = None) -> np.ndarray:
    """``count`` indices of a split, seeded, interleaved over the classes when labels are known."""
    n = len(split)
    rng = np.random.default_rng(seed)
    if labels is None or len(labels) != n:
        return np.sort(rng.permutation(n)[: min(count, n)])
    per = [list(rng.permutation(np.flatnonzero(labels == c))) for c in np.unique(labels)]
    out: list[int] = []
    while len(out) < min(count, n):
        for p in per:
            if p and len(out) < count:
                out.append(int(p.pop()))
    return np.asarray(out, dtype=np.int64)


def _labels_of(split: Split) -> np.ndarray | None:
    if isinstance(split, DetectionSplit):
        return None
    return split.labels if isinstance(split, FileSplit) else split.labels_hint


def _golden(split: Split, idx: np.ndarray, spec: PreprocessSpec, name: str) -> list[Any]:
    import cv2

    from edgekit.examples.base import GoldenSample

    out: list[Any] = []
    for j in idx:
        if isinstance(split, FileSplit | DetectionSplit):
            p = Path(split.path(int(j)))
            try:
                first = spec.steps[0]
                assert isinstance(first, Decode)
                python_impl.decode(first, p)
            except InputError:
                continue  # an undecodable golden candidate: skipped (counted by the eval stream)
            label = int(split.labels[int(j)]) if isinstance(split, FileSplit) else None  # detection: None
            out.append(GoldenSample(f"{name}_{int(j):06d}_{p.stem}", p, label, p.suffix))
        else:
            img, label = split.items[int(j)]
            ok, enc = cv2.imencode(".png", np.asarray(img))
            if not ok:  # pragma: no cover
                raise DataError(f"split '{name}' item {j} cannot be encoded as PNG", "yield uint8 images")
            lab = None if label is None or np.ndim(label) != 0 else int(label)  # detection: no class label
            out.append(GoldenSample(f"{name}_{int(j):06d}", enc.tobytes(), lab))
    return out


def build_splits(data: DataConfig, base: Path, spec: PreprocessSpec, augment: AugmentConfig | None = None,
                 seed: int = 0, fast: bool = False, cache_dir: Path | None = None,
                 fast_count: int = 256) -> Splits:
    """Resolve the source and wrap every split in a StreamDataset (the training one with the augment)."""
    res = resolve_source(data, base, fast)
    first = spec.steps[0]
    assert isinstance(first, Decode)
    n_files = sum(len(s) for s in res.splits.values() if isinstance(s, FileSplit | DetectionSplit))
    cache = None
    if data.cache == "disk" and cache_dir is not None and n_files <= data.cache_max_images:
        cache = DecodedCache(cache_dir / "decoded", first)
    detection = isinstance(data.source, CocoSource | YoloSource)
    aug = build_box_augmenter(augment, spec, seed) if detection else build_augmenter(augment, spec, seed)
    mb = data.max_boxes

    def ds(name: str, augmenter: Augmenter | BoxAugmenter | None = None,
           idx: np.ndarray | None = None) -> StreamDataset:
        sp = res.splits[name]
        if fast and idx is None and isinstance(sp, FileSplit | FactorySplit | DetectionSplit) and (
                not isinstance(sp, FactorySplit) or sp.sequence):
            idx = draw(sp, fast_count, seed, _labels_of(sp)) if len(sp) > fast_count else None
        return StreamDataset(name, sp, spec, augmenter, cache, idx, mb)

    train = ds("train", aug) if "train" in res.splits else None
    ev = ds("val")
    cal_split = res.splits[data.calibration.split]
    if isinstance(cal_split, FactorySplit) and not cal_split.sequence:
        items = []
        for k, item in enumerate(cal_split.items):
            if k >= data.calibration.count:
                break
            items.append(item)
        cal_split = FactorySplit(items, True)
        cal = StreamDataset(data.calibration.split, cal_split, spec, None, cache)
    else:
        cal = StreamDataset(data.calibration.split, cal_split, spec, None, cache,
                            draw(cal_split, data.calibration.count, seed + 1, _labels_of(cal_split)), mb)
    g_split = res.splits[data.golden.split]
    if isinstance(g_split, FactorySplit) and not g_split.sequence:
        raise DataError(f"data.golden.split '{data.golden.split}' is an iterable factory",
                        "use a sequence split")
    golden = _golden(g_split, draw(g_split, data.golden.count, seed + 2, _labels_of(g_split)), spec,
                     data.golden.split)
    if not golden:
        raise DataError(f"data.golden: no decodable image in split '{data.golden.split}'",
                        "give it real images")
    counts = {"train": len(train) if train is not None else 0, "val": len(ev), "calib": len(cal),
              "golden": len(golden)}
    return Splits(res.labels, train, ev, cal, golden, BadImages(data.max_bad_fraction), counts, res)


def calib_array(splits: Splits, n: int | None = None, batch_size: int = 32,
                num_workers: int = 0) -> np.ndarray:
    """The calibration split as one float32 array [n, ...] (n small: PTQ / DLA calibration want arrays)."""
    ds = splits.calib
    if n is not None and n < len(ds):
        ds = StreamDataset(ds.name, ds.split, ds.spec, None, ds.cache,
                           np.asarray([ds.source_index(i) for i in range(n)]), ds.max_boxes)
    out: np.ndarray | None = None
    k = 0
    for x, _ in make_loader(ds, batch_size, num_workers, bad=splits.bad, prefetch=EVAL_PREFETCH):
        if out is None:  # one array filled batch by batch: never the batches and their concatenation
            out = np.empty((len(ds), *x.shape[1:]), dtype=x.numpy().dtype)
        out[k : k + len(x)] = x.numpy()
        k += len(x)
        del x
    if out is None or k == 0:
        raise DataError(f"calibration split '{ds.name}' gave no decodable image", "give it real images")
    return out[:k] if k < len(out) else out


def load_example_data(data: DataConfig, base: Path, spec: PreprocessSpec, fast: bool = False,
                      augment: AugmentConfig | None = None, seed: int = 0) -> Any:
    """INTERIM (in-memory stages): the splits decoded into an ``ExampleData`` of uint8 arrays. Bad files
    are skipped and counted as in the streams. Prefer ``build_splits`` + ``Stream``: this holds pixels."""
    from edgekit.examples.base import ExampleData

    s = build_splits(data, base, spec, augment=None, seed=seed, fast=fast)

    def decoded(ds: StreamDataset | None) -> tuple[list[np.ndarray], np.ndarray]:
        imgs: list[np.ndarray] = []
        labels: list[int] = []
        if ds is None:
            return imgs, np.zeros(0, np.int64)
        for i in range(len(ds)):
            try:
                img, lab = ds.decoded(i)
            except InputError:
                s.bad.add(ds.name, ds.name_of(i), len(ds))
                continue
            imgs.append(img)
            labels.append(lab)
        return imgs, np.asarray(labels, np.int64)

    tr, ytr = decoded(s.train)
    ev, yev = decoded(s.eval)
    cal, _ = decoded(s.calib)
    return ExampleData(tr, ytr, ev, yev, cal, s.golden)
