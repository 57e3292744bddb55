"""Issue 12 (memory of a whole build): what keeps DataLoader workers' memory independent of the dataset's
size and of the main process's heap. Structural checks, not memory thresholds (no timing, no RSS):
- a worker builds each batch in place: one item alive at a time, not the batch's items plus their stack;
- the main heap is frozen for the garbage collector while workers are alive (a collection in a forked
  worker would otherwise write to, and so copy, every page of the inherited heap), and the C heap's free
  pages are handed back before the fork (reused after it, each would be copied);
- a split is a fixed number of Python objects whatever its size (paths in one numpy array): a worker's
  refcounting never touches per-item objects.
"""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import edgekit.data.engine as engine
from edgekit.data.engine import Batch, StreamDataset, _collate, build_splits, make_loader
from edgekit.data.sources import resolve_source

from .test_engine import _cfg, _folder
from .test_sources import spec


def test_batch_built_in_place_one_item_alive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _folder(tmp_path, n=6, broken=1)  # 13 train files, one undecodable
    s = build_splits(_cfg(max_bad_fraction=0.2), tmp_path, spec())
    assert s.train is not None
    idx = list(range(len(s.train)))
    # same values, order and bad-item report as torch's default_collate over __getitem__ items
    want_x, want_y, want_bad = _collate([s.train[i] for i in idx])
    got = s.train.__getitems__(idx)
    assert isinstance(got, Batch)
    got_x, got_y, got_bad = _collate(got)
    assert got_x.shape == (12, 3, 32, 32) and torch.equal(got_x, want_x)
    assert torch.equal(got_y, want_y) and got_y.dtype == torch.int64
    assert got_bad == want_bad and len(got_bad) == 1

    live: list[int] = []
    alive = [0]
    real = engine.preprocess_decoded

    def counted(*a: Any, **k: Any) -> np.ndarray:
        out = real(*a, **k)
        alive[0] += 1
        weakref.finalize(out, lambda: alive.__setitem__(0, alive[0] - 1))
        live.append(alive[0])
        return out

    monkeypatch.setattr(engine, "preprocess_decoded", counted)
    n = sum(len(y) for _, y in make_loader(s.train, 8, bad=s.bad))
    assert n == 12 and len(live) == 12
    assert max(live) == 1, live  # item arrays stacked in a list first would reach 8 (the batch size)


def test_gc_frozen_while_workers_alive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _folder(tmp_path, n=4)
    s = build_splits(_cfg(), tmp_path, spec())
    assert s.train is not None
    real = engine.preprocess_decoded
    seen = tmp_path / "seen"
    seen.mkdir()

    def spy(*a: Any, **k: Any) -> np.ndarray:  # runs in the forked workers (the patch is inherited)
        (seen / f"{os.getpid()}").write_text(str(gc.get_freeze_count()))
        return real(*a, **k)

    monkeypatch.setattr(engine, "preprocess_decoded", spy)
    trims = [0]
    real_trim = engine.release_free_heap

    def trim() -> None:
        trims[0] += 1
        real_trim()

    monkeypatch.setattr(engine, "release_free_heap", trim)
    assert gc.get_freeze_count() == 0
    during = []
    for _x, _y in make_loader(s.train, 4, num_workers=2):
        during.append(gc.get_freeze_count())
    assert gc.get_freeze_count() == 0  # unfrozen once the epoch's workers are gone
    assert trims == [1]  # the C heap's free pages handed back once, before the workers forked
    assert len(during) == 2 and min(during) > 1000  # the main heap (torch imported) frozen meanwhile
    counts = {p.name: int(p.read_text()) for p in seen.iterdir()}
    assert len(counts) == 2 and str(os.getpid()) not in counts  # two workers ran items
    assert min(counts.values()) > 1000, counts  # and their inherited heap is frozen for their gc


def _reachable(root: object) -> int:
    """Objects reachable from ``root`` (not entering modules, classes or functions)."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        o = todo.pop()
        if id(o) in seen or isinstance(o, type | type(os) | type(_reachable)):
            continue
        seen.add(id(o))
        todo += gc.get_referents(o)
    return len(seen)


def test_split_objects_do_not_grow_with_size(tmp_path: Path) -> None:
    def dataset(n: int) -> StreamDataset:
        root = tmp_path / f"n{n}"
        for split in ("train", "val"):
            for c in ("a", "b"):
                d = root / split / c
                d.mkdir(parents=True)
                for i in range(n):
                    (d / f"{i:05d}.jpg").write_bytes(b"")  # resolving lists files, never decodes
        res = resolve_source(_cfg().model_copy(update={"source": _cfg().source.model_copy(
            update={"root": str(root)})}), tmp_path)
        return StreamDataset("train", res.splits["train"], spec())

    small, big = dataset(5), dataset(1500)
    assert len(big) == 3000 and len(small) == 10
    assert _reachable(big) == _reachable(small)  # a list of str paths would add 2 objects per item
