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
