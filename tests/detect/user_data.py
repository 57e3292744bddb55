"""A user's own detection project, written the way a user would lay it out on disk: real photographs
(scikit-image crops, 80x64, so the letterbox pads) with filled squares and disks pasted at seeded positions,
whose boxes the writer knows exactly (the tight box of the pixels it painted), saved as a YOLO folder
(images/{train,val}, labels/{train,val}, classes.txt) or a COCO JSON + images; and a model.py whose factories
are the user's own small detectors (not edgekit's built-in one)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("square", "disk")
H, W = 64, 80  # the photos' size (height, width): letterboxed to the network's square input

MODEL_PY = '''"""A user's own detectors: small conv nets, stride 8."""
import math

import torch
import torch.nn as nn


def _conv(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class TinyDet(nn.Module):
    """edgekit_ltrb: one output [N, 4 + C, H / 8, W / 8] (ReLU'd l, t, r, b in strides; class logits),
    the two branches joined on the channel axis."""

    def __init__(self, classes=2, width=16):
        super().__init__()
        w = width
        self.body = nn.Sequential(_conv(3, w, 2), _conv(w, 2 * w, 2), _conv(2 * w, 2 * w, 2),
                                  _conv(2 * w, 2 * w, 1))
        self.box = nn.Conv2d(2 * width, 4, 1)
        self.cls = nn.Conv2d(2 * width, classes, 1)
        nn.init.constant_(self.box.bias, 1.0)
        nn.init.constant_(self.cls.bias, -math.log(99.0))

    def forward(self, x):
        f = self.body(x)
        return torch.cat([torch.relu(self.box(f)), self.cls(f)], dim=1)


def build(classes=2, width=16):
    return TinyDet(classes, width)


class Flat(nn.Module):
    """A classifier-shaped output [N, 4 + C]: not a detector's map (preflight must refuse it)."""

    def __init__(self, classes=2):
        super().__init__()
        self.body = _conv(3, 8, 2)
        self.fc = nn.Linear(8, 4 + classes)

    def forward(self, x):
        return self.fc(self.body(x).mean((2, 3)))


def flat(classes=2, width=16):
    return Flat(classes)


class GridDet(nn.Module):
    """An Ultralytics-style export: [N, 4 + C, A], boxes cx, cy, w, h in input pixels, scores sigmoided
    inside the net. Convs, then a flatten of the 8x8 map into A = 64 anchors (a Reshape: the user's
    choice)."""

    def __init__(self, classes=2, stride=8):
        super().__init__()
        self.stride = stride
        self.body = nn.Sequential(_conv(3, 8, 2), _conv(8, 16, 2), _conv(16, 16, 2))
        self.box = nn.Conv2d(16, 4, 1)
        self.cls = nn.Conv2d(16, classes, 1)

    def forward(self, x):
        f = self.body(x)
        n, _, h, w = f.shape
        ys = (torch.arange(h, dtype=x.dtype) + 0.5).view(1, 1, h, 1).expand(1, 1, h, w)
        xs = (torch.arange(w, dtype=x.dtype) + 0.5).view(1, 1, 1, w).expand(1, 1, h, w)
        d = torch.sigmoid(self.box(f)) * 4.0
        cx = (xs + (d[:, 2:3] - d[:, 0:1]) / 2) * self.stride
        cy = (ys + (d[:, 3:4] - d[:, 1:2]) / 2) * self.stride
        bw = (d[:, 0:1] + d[:, 2:3]) * self.stride
        bh = (d[:, 1:2] + d[:, 3:4]) * self.stride
        out = torch.cat([cx, cy, bw, bh, torch.sigmoid(self.cls(f))], dim=1)
        return torch.flatten(out, 2)


def grid(classes=2, seed=0, fresh_bn=False):
    torch.manual_seed(seed)  # "pretrained": a fixed set of weights the factory makes itself
    net = GridDet(classes)
    for m in net.modules():  # trained-looking BatchNorms (fresh ones fold to identical zero biases)
        if isinstance(m, nn.BatchNorm2d) and not fresh_bn:
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    return net.eval()
'''


def _photos() -> list[np.ndarray]:
    from skimage import data

    return [cv2.cvtColor(np.asarray(f()), cv2.COLOR_RGB2BGR) for f in (data.astronaut, data.coffee,
                                                                       data.chelsea, data.rocket)]


def make_image(rng: np.random.Generator, photos: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, float,
                                                                                                 float, float,
                                                                                                 float]]]:
    """One H x W photo crop with 1..3 non-overlapping filled shapes; (class_id, x1, y1, x2, y2) per shape in
    pixel-edge coordinates: the tight box of the painted pixels."""
    photo = photos[int(rng.integers(len(photos)))]
    ph, pw = photo.shape[:2]
    c = int(rng.integers(200, min(ph, pw * H // W)))
    y0, x0 = int(rng.integers(0, ph - c + 1)), int(rng.integers(0, int(pw - c * W / H) + 1))
    crop = photo[y0 : y0 + c, x0 : x0 + int(c * W / H)]
    img = (cv2.resize(crop, (W, H), interpolation=cv2.INTER_AREA) * 0.5).astype(np.uint8)
    boxes: list[tuple[int, float, float, float, float]] = []
    taken = np.zeros((H, W), bool)
    for _ in range(int(rng.integers(1, 4))):
        cls = int(rng.integers(len(CLASSES)))
        s = int(rng.integers(14, 26))
        x, y = int(rng.integers(0, W - s)), int(rng.integers(0, H - s))
        mask = np.zeros((H, W), np.uint8)
        if cls == 0:
            mask[y : y + s, x : x + s] = 1
        else:
            cv2.circle(mask, (x + s // 2, y + s // 2), s // 2, 1, -1)
        m = mask.astype(bool)
        grown = cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)
        if (grown & taken).any():
            continue
        taken |= grown
        colour = np.array([rng.integers(150, 256), rng.integers(150, 256), rng.integers(0, 80)], np.uint8)
        img[m] = rng.permutation(colour)
        ys, xs = np.nonzero(m)
        boxes.append((cls, float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)))
    return img, boxes


def _items(n: int, seed: int) -> list[tuple[np.ndarray, list[tuple[int, float, float, float, float]]]]:
    photos = _photos()
    return [make_image(np.random.default_rng([seed, i]), photos) for i in range(n)]


def write_yolo(root: Path, n_train: int = 48, n_val: int = 16, seed: int = 0) -> Path:
    """A YOLO folder: images/{split}/NAME.png, labels/{split}/NAME.txt (class cx cy w h, normalised),
    classes.txt."""
    for split, n, s in (("train", n_train, seed * 2 + 1), ("val", n_val, seed * 2 + 2)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i, (img, boxes) in enumerate(_items(n, s)):
            cv2.imwrite(str(root / "images" / split / f"{split}{i:03d}.png"), img)
            lines = [f"{c} {(x1 + x2) / 2 / W:.6f} {(y1 + y2) / 2 / H:.6f} {(x2 - x1) / W:.6f} "
                     f"{(y2 - y1) / H:.6f}" for c, x1, y1, x2, y2 in boxes]
            (root / "labels" / split / f"{split}{i:03d}.txt").write_text("".join(t + "\n" for t in lines))
    (root / "classes.txt").write_text("".join(c + "\n" for c in CLASSES))
    return root


def write_coco(root: Path, n_train: int = 32, n_val: int = 12, seed: int = 0) -> Path:
    """A COCO dataset: images/NAME.png, train.json and val.json (categories with ids 1 and 2)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    for split, n, s in (("train", n_train, seed * 2 + 1), ("val", n_val, seed * 2 + 2)):
        images, anns = [], []
        for i, (img, boxes) in enumerate(_items(n, s)):
            name = f"{split}{i:03d}.png"
            cv2.imwrite(str(root / "images" / name), img)
            images.append({"id": i + 1, "file_name": name, "width": W, "height": H})
            for c, x1, y1, x2, y2 in boxes:
                anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": c + 1,
                             "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
        cats = [{"id": k + 1, "name": name} for k, name in enumerate(CLASSES)]
        (root / f"{split}.json").write_text(json.dumps({"images": images, "annotations": anns,
                                                        "categories": cats}))
    return root
