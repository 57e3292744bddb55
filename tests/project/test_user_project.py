"""User projects through the whole pipeline: `edgekit init` on a real-photo ImageFolder, then `edgekit build
--fast` ending with parity in sync; a hand-written model.py on gray images for jetson-xavier; stage reuse when
only the QAT settings change; resume refused when the config changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgekit import bundle as B
from edgekit import runtime_cpp
from tests.project.imagefolder import write_imagefolder

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}


def edgekit(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgekit.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=900,
        cwd=cwd,
    )


def in_sync(out: Path) -> None:
    assert runtime_cpp.is_built(), "the C++ runtime must be built (tools/setup.sh) for the parity check"
    rep = json.loads((out / "parity.json").read_text())
    assert rep["exit_code"] == 0 and "in sync" in rep["summary"], rep["summary"]


@pytest.fixture(scope="module")
def colour_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("colour")
    data = write_imagefolder(root / "photos", classes=3, per_class=16, size=48)
    r = edgekit("init", root / "proj", "--data", data, "--size", "32")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "3 classes (chelsea, coffee, rocket), colour images" in " ".join(r.stdout.split())
    out = root / "bundle"
    r = edgekit(
        "build",
        "--config",
        root / "proj" / "edgekit.yaml",
        "--device",
        "cpu",
        "--fast",
        "--out",
        out,
        "--json",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return root, out, json.loads(r.stdout)


def test_init_then_fast_build_on_a_colour_imagefolder(colour_build: tuple[Path, Path, dict]) -> None:
    root, out, summary = colour_build
    m = B.load(out).manifest
    assert m.build is not None and m.build.project == "proj" and summary["project"] == "proj"
    assert (out / "labels.txt").read_text().split() == ["chelsea", "coffee", "rocket"]
    assert m.outputs[0].shape == [-1, 3] and m.postprocess.top_k == 3
    assert [s.stage for s in m.build.stages][:4] == ["teacher", "distill", "prune", "finetune"]
    assert m.build.fits["teacher"].epochs == 1 and m.build.fits["teacher"].images > 0
    assert m.build.data.golden == 8 and m.build.data.eval > 0 and not m.build.reused_stages
    assert m.preprocess.steps[0].color == "bgr" and m.input.shape == [-1, 3, 32, 32]  # type: ignore[union-attr]
    assert "augment" not in json.dumps(m.preprocess.to_json_obj())
    assert any(c.startswith("prune:") for c in m.build.preflight)
    in_sync(out)


def test_editing_qat_settings_reuses_the_trained_stages(colour_build: tuple[Path, Path, dict]) -> None:
    root, out, _ = colour_build
    first = B.load(out).manifest.build
    assert first is not None
    cfg = root / "proj" / "edgekit.yaml"
    cfg.write_text(cfg.read_text().replace("qat: 1}\n    max_train", "qat: 2}\n    max_train"))
    r = edgekit("build", "--config", cfg, "--device", "cpu", "--fast", "--out", out, "--no-parity")
    assert r.returncode == 0, r.stderr[-3000:]
    second = B.load(out).manifest.build
    assert second is not None and second.reused_stages == ["teacher", "distill", "prune"]
    assert "teacher" not in second.fits and second.fits["qat"].epochs == 2
    before = {(s.stage, s.model_id): s.accuracy for s in first.stages}
    for s in second.stages:
        if s.stage in ("teacher", "distill", "prune", "finetune"):
            assert s.reused and s.accuracy == before[(s.stage, s.model_id)]
    # a resume after a config change is refused, naming what changed; nothing is written
    cfg.write_text(cfg.read_text().replace("prune_ratio: 0.5", "prune_ratio: 0.25"))
    r = edgekit("build", "--config", cfg, "--device", "cpu", "--fast", "--out", out, "--resume")
    assert r.returncode != 0 and "cannot resume: the config changed" in r.stderr, r.stderr[-2000:]
    assert B.load(out).manifest.build == second


MODEL_PY = """
import torch
import torch.nn as nn


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return torch.relu(x + self.body(x))


class TinyResNet(nn.Module):
    def __init__(self, num_classes, channels=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, channels, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU())
        self.block = Residual(channels)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(self.block(self.stem(x))), 1))
"""

CONFIG = """
schema_version: 1
name: gray-resnet
model:
  teacher: {factory: "nets/model.py:TinyResNet", kwargs: {num_classes: 4, channels: 16}}
prune: {ignore: []}
data:
  source: {kind: image_folder, root: "../scans"}
  calibration: {split: train, count: 16}
  golden: {split: val, count: 6}
preprocess:
  steps:
    - {op: decode, color: gray}
    - {op: resize, mode: stretch, size: [32, 32], interpolation: area}
    - {op: to_float}
    - {op: normalize, mean: [0.5], std: [0.25]}
    - {op: layout, to: NCHW}
recipe:
  steps: [prune, qat]
  epochs: {teacher: 2, finetune: 1, qat: 1}
  batch_size: 16
  optimizer: sgd
  lr: 0.05
  schedule: cosine
  prune_ratio: 0.5
train: {device: cpu, num_workers: 1}
"""


def test_own_model_py_on_gray_train_val_folders_for_jetson(tmp_path: Path) -> None:
    write_imagefolder(
        tmp_path / "scans",
        classes=4,
        per_class=12,
        size=40,
        gray=True,
        split=True,
        names=["1", "2", "10", "11"],
    )
    proj = tmp_path / "project"
    (proj / "nets").mkdir(parents=True)
    (proj / "nets" / "model.py").write_text(MODEL_PY)
    (proj / "edgekit.yaml").write_text(CONFIG)
    out = tmp_path / "bundle"
    r = edgekit(
        "build", "--config", proj / "edgekit.yaml", "--device", "jetson-xavier", "--fast", "--out", out
    )
    assert r.returncode == 0, r.stderr[-3000:]
    m = B.load(out).manifest
    assert (
        m.build is not None
        and m.build.student_is_teacher
        and m.build.plan == ["train_teacher", "prune", "qat"]
    )
    assert (out / "labels.txt").read_text().split() == ["1", "2", "10", "11"]  # natural order
    assert m.input.shape == [-1, 1, 32, 32] and m.build.data.golden == 6
    assert {"student_fp32", "student_int8_qdq"} <= {e.id for e in m.models}
    assert m.build.recipe is not None and m.build.recipe.optimizer == "sgd"
    assert "trt_check" in m.extra["hooks"]  # a TensorRT profile: statically checked (no TensorRT here)
    in_sync(out)
