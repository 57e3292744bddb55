"""The streaming engine: bad images skipped/counted/named and the threshold, streaming (no pixels held),
DataLoader workers, augmentation (validation, train-only, seeded), the decoded-image disk cache."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from edgekit.data.augment import AugmentError, build_augmenter
from edgekit.data.config import AugmentConfig, DataConfig
from edgekit.data.engine import BadImages, Stream, build_splits, calib_array, make_loader
from edgekit.data.sources import DataError
from edgekit.preprocess import run as py_run
from edgekit.preprocess.spec import imagenet_spec

from .realimages import write_folder
from .test_sources import spec


def _folder(tmp: Path, n: int = 6, broken: int = 0) -> Path:
    write_folder(tmp / "d" / "train", ["a", "b"], n, ext=".jpg")
    write_folder(tmp / "d" / "val", ["a", "b"], 2, ext=".jpg", seed=1)
    for i in range(broken):
        (tmp / "d" / "train" / "a" / f"broken{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return tmp


def _cfg(**kw: object) -> DataConfig:
    return DataConfig(source={"kind": "image_folder", "root": "d"},  # type: ignore[arg-type]
                      golden={"split": "val", "count": 2}, calibration={"split": "val", "count": 3}, **kw)  # type: ignore[arg-type]


def test_bad_image_skipped_counted_named(tmp_path: Path) -> None:
    _folder(tmp_path, broken=1)
    s = build_splits(_cfg(max_bad_fraction=0.2), tmp_path, spec())
    st = make_loader(s.train, 4, bad=s.bad)  # type: ignore[arg-type]
    n = sum(len(y) for _, y in st)
    assert n == 12 and st.seen == 12  # 13 files, the broken one skipped
    assert s.bad.count == 1 and any(p.endswith("train/a/broken0.jpg") for p in s.bad.names["train"])


def test_bad_images_past_threshold_fail_naming_them(tmp_path: Path) -> None:
    _folder(tmp_path, broken=2)
    s = build_splits(_cfg(max_bad_fraction=0.1), tmp_path, spec())
    with pytest.raises(DataError, match=r"2 of 14 images of split 'train' do not decode "
                                        r"\(e.g. .*broken0.jpg.*data.max_bad_fraction=0.1"):
        for _ in make_loader(s.train, 14, bad=s.bad):  # type: ignore[arg-type]
            pass
    assert BadImages(0.5).count == 0


def test_streaming_holds_references_not_pixels(tmp_path: Path) -> None:
    # 40 images of 96x96x3 = 1.1 MB decoded; the dataset object (what each worker gets) stays tiny
    write_folder(tmp_path / "d" / "train", ["a", "b"], 20, size=96)
    write_folder(tmp_path / "d" / "val", ["a", "b"], 2, size=96)
    s = build_splits(_cfg(), tmp_path, spec(size=96))
    pixels = 40 * 96 * 96 * 3
    blob = len(pickle.dumps(s.train))
    assert blob < pixels / 50, blob
    assert s.train.split.rel.dtype.kind == "S"  # type: ignore[union-attr]  # no per-item Python objects
    # through 2 worker processes: every item once, same tensors as the spec's interpreter on the file
    got = {}
    for x, _ in make_loader(s.train, 8, num_workers=2):  # type: ignore[arg-type]
        for xi in x:
            got[xi.numpy().tobytes()] = 1
    assert len(got) == 40
    p0 = s.train.split.path(0)  # type: ignore[union-attr]
    assert py_run(spec(size=96), p0)[0][0].tobytes() in got


def test_augment_validation() -> None:
    with pytest.raises(ValidationError, match=r"augment step 1 'normalize' is a float step"):
        AugmentConfig.model_validate({"steps": [{"op": "horizontal_flip"}, {"op": "normalize"}]})
    with pytest.raises(ValidationError, match=r"op 'blur' is unknown"):
        AugmentConfig.model_validate({"steps": [{"op": "blur"}]})
    bad = AugmentConfig.model_validate({"steps": [{"op": "random_resized_crop", "size": [200, 200]}]})
    with pytest.raises(AugmentError, match=r"random_resized_crop size \[200, 200\] changes the output size "
                                           r"\(the spec gives \[224, 224\]\)"):
        build_augmenter(bad, imagenet_spec())
    ok = AugmentConfig.model_validate({"steps": [{"op": "random_resized_crop"}, {"op": "affine"}]})
    a = build_augmenter(ok, imagenet_spec())
    assert a is not None and a.replaces_geometry
    assert "augment" not in str(imagenet_spec().to_json_obj())  # the bundle's declaration has no augment


def test_augment_train_only_seeded_and_spec_sized(tmp_path: Path) -> None:
    _folder(tmp_path, n=4)
    aug = AugmentConfig.model_validate({"steps": [
        {"op": "random_resized_crop", "scale": [0.3, 0.9]}, {"op": "horizontal_flip"},
        {"op": "affine", "rotate": 15}, {"op": "color_jitter", "hue": 0.05}]})
    s = build_splits(_cfg(), tmp_path, spec(), augment=aug, seed=3)
    assert s.train is not None and s.train.augment is not None
    assert s.eval.augment is None and s.calib.augment is None

    def batch(e: int, workers: int) -> torch.Tensor:
        return next(Stream(s.train, 8, workers, shuffle=True, seed=3).epoch(e))[0]  # type: ignore[arg-type]

    b0 = batch(0, 2)
    assert b0.shape == (8, 3, 32, 32)
    assert torch.equal(b0, batch(0, 2))  # same epoch, same seed: same augmented batch (workers seeded)
    assert not torch.equal(b0, batch(1, 2))
    # eval is the spec alone: equal to the spec interpreter on the file
    x, _, _ = s.eval[0]
    assert np.array_equal(x.numpy(), py_run(spec(), s.eval.split.path(0))[0][0])  # type: ignore[union-attr]


def test_decoded_disk_cache(tmp_path: Path) -> None:
    _folder(tmp_path, n=3)
    s = build_splits(_cfg(cache="disk"), tmp_path, spec(), cache_dir=tmp_path / "cache")
    first = calib_array(s)
    files = list((tmp_path / "cache" / "decoded").rglob("*.npy"))
    assert len(files) == 3
    s2 = build_splits(_cfg(cache="disk"), tmp_path, spec(), cache_dir=tmp_path / "cache")
    assert np.array_equal(calib_array(s2), first)
    assert first.shape == (3, 3, 32, 32)
