"""The data-engine benchmark's parts (not its figures): the real-photo ImageFolder and the PSS sampler."""

from __future__ import annotations

import os
from pathlib import Path

import cv2

from edgekit.bench.data_engine import _pss_tree, make_image_folder


def test_image_folder_and_pss(tmp_path: Path) -> None:
    root = make_image_folder(tmp_path / "imgs", 40, classes=4, size=32)
    train = sorted((root / "train").rglob("*.jpg"))
    val = sorted((root / "val").rglob("*.jpg"))
    assert len(train) == 36 and len(val) == 4 and len({p.parent.name for p in val}) == 4
    img = cv2.imread(str(train[0]))
    assert img is not None and img.shape == (32, 32, 3) and img.std() > 5  # a photo crop, not a blank
    assert _pss_tree(os.getpid()) > 20 * 2**20  # this interpreter with torch loaded
    assert _pss_tree(2**22 + 12345) == 0  # no such process: nothing summed


def _idle(ev: object) -> None:
    ev.wait(30)  # type: ignore[attr-defined]


def test_tree_sampler_splits_main_workers_other() -> None:
    import multiprocessing as mp
    import subprocess

    from edgekit.bench.data_engine import TreeSampler

    ctx = mp.get_context("fork")  # as the DataLoader's workers: same command line as the main process
    ev = ctx.Event()
    worker = ctx.Process(target=_idle, args=(ev,))
    worker.start()
    other = subprocess.Popen(["sleep", "30"])
    try:
        s = TreeSampler(os.getpid())
        s.sample()
        s.phase_done("one")
        r = s.report()
    finally:
        ev.set()
        other.kill()
        worker.join(10)
        other.wait(10)
    assert r["peak_main_pss_mb"] > 20 and r["peak_workers_pss_mb"] > 0 and r["peak_other_pss_mb"] > 0
    assert r["peak_pss_mb"] >= r["peak_main_pss_mb"] + r["peak_workers_pss_mb"] + r["peak_other_pss_mb"] - 0.2
    procs = r["at_peak"]["processes"]
    assert str(worker.pid) in procs and str(other.pid) in procs and procs[str(os.getpid())]["anon"] > 0
    assert [p["until"] for p in r["phases"]] == ["one"] and r["phases"][0]["peak_total_mb"] > 0
    assert 0 < r["peak_anon_shmem_pss_mb"] <= r["peak_pss_mb"]
