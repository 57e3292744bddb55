"""`edgekit build --resume` after a SIGKILL in the middle of teacher training: the teacher continues from its
last per-epoch checkpoint (the epoch is in the build record) and the build ends with parity in sync."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from edgekit import bundle as B
from tests.project.imagefolder import write_imagefolder
from tests.project.test_user_project import ENV, MODEL_PY, edgekit, in_sync

CONFIG = """
schema_version: 1
name: resumable
model:
  teacher: {factory: "model.py:TinyResNet", kwargs: {num_classes: 3, channels: 16}}
data:
  source: {kind: image_folder, root: "../photos", val_fraction: 0.25}
  calibration: {split: train, count: 16}
  golden: {split: val, count: 4}
preprocess:
  steps:
    - {op: decode, color: gray}
    - {op: resize, size: [48, 48]}
    - {op: to_float}
    - {op: normalize, mean: [0.5], std: [0.25]}
    - {op: layout, to: NCHW}
recipe:
  steps: [ptq]
  epochs: {teacher: 6}
  batch_size: 8
train: {device: cpu, num_workers: 1}
"""


def test_sigkill_then_resume_continues_from_the_checkpoint(tmp_path: Path) -> None:
    write_imagefolder(tmp_path / "photos", classes=3, per_class=40, size=64, gray=True)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "model.py").write_text(MODEL_PY.replace("nn.Conv2d(1, channels", "nn.Conv2d(1, channels"))
    (proj / "edgekit.yaml").write_text(CONFIG)
    out = tmp_path / "bundle"
    cmd = [
        sys.executable,
        "-m",
        "edgekit.cli",
        "build",
        "--config",
        str(proj / "edgekit.yaml"),
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    cache = tmp_path / ".edgekit-cache" / "resumable"
    p = subprocess.Popen(
        cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.time() + 600
        while time.time() < deadline and p.poll() is None:
            if list(cache.glob("teacher-*.ckpt/last.pt")):
                break
            time.sleep(0.05)
        assert p.poll() is None, "the build ended before the first teacher checkpoint"
        os.killpg(p.pid, signal.SIGKILL)
    finally:
        p.wait(timeout=60)
    assert not list(cache.glob("teacher-*.pt")), "the teacher finished before the kill"
    assert not (out / "manifest.json").exists()  # nothing half-written at --out
    r = edgekit("build", "--config", proj / "edgekit.yaml", "--device", "cpu", "--out", out, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    m = B.load(out).manifest
    assert m.build is not None and m.build.resumed
    fit = m.build.fits["teacher"]
    assert fit.resumed_from_epoch is not None and 1 <= fit.resumed_from_epoch < 6 and fit.epochs == 6
    assert "resumed after epoch" in r.stderr
    in_sync(out)
