"""Detection items through the streaming engine: the spec's geometry on boxes (input_affine, letterbox and
crop: to input pixels and back), box-aware augmentation (a flip moves the box with the pixels), targets
[N, max_boxes, 5] padded with class -1 through Stream/collate and worker processes, calibration and
golden draws (label None); the classification path keeps its own augmenter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edgekit.data.augment import AugmentError
from edgekit.data.box_augment import build_box_augmenter, check_carries_boxes
from edgekit.data.config import AugmentConfig
from edgekit.data.detection_items import detection_item, target_rows
from edgekit.data.engine import StreamDataset, build_splits, calib_array, make_loader
from edgekit.preprocess import run as py_run
from edgekit.preprocess.geometry import input_affine
from edgekit.preprocess.spec import CenterCrop, Decode, Layout, PreprocessSpec, Resize, ToFloat

from .test_detection_readers import FIX, coco_cfg, yolo_cfg


def letterbox_spec(h: int = 64, w: int = 64, pad: int = 0) -> PreprocessSpec:
    return PreprocessSpec(
        steps=[
            Decode(),
            Resize(mode="letterbox", size=[h, w], interpolation="nearest", pad_value=pad),
            ToFloat(scale=1.0),
            Layout(),
        ]
    )


def white_rect_image(h: int, w: int, box: list[int]) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = 255
    return img


def ink_box(x: np.ndarray) -> list[int]:
    """The pixel-edge box of the bright pixels of a CHW float tensor."""
    ys, xs = np.nonzero(x[0] > 127)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


# -- geometry on boxes -------------------------------------------------------------------------------
@pytest.mark.parametrize(("h", "w"), [(48, 96), (120, 40), (64, 64)])
def test_letterbox_boxes_map_to_input_pixels_and_back(h: int, w: int) -> None:
    spec = letterbox_spec(64, 64)
    box = [w // 4, h // 4, w // 4 + w // 2, h // 4 + h // 2]
    x = py_run(spec, white_rect_image(h, w, box))[0][0]
    aff = input_affine(spec, h, w)
    fwd = aff.forward_boxes(np.asarray([box], np.float64))[0]
    assert np.abs(fwd - ink_box(x)).max() <= 1.0  # the mapped box bounds the resized pixels (nearest: +-1)
    np.testing.assert_allclose(aff.inverse_boxes(fwd[None])[0], box, atol=1e-9)
    # the pad: letterbox of 48x96 into 64x64 -> 32x64 at top 16
    if (h, w) == (48, 96):
        assert (aff.ax, aff.bx, aff.ay, aff.by) == (64 / 96, 0.0, 32 / 48, 16.0)


def test_shorter_side_center_crop_affine() -> None:
    spec = PreprocessSpec(
        steps=[
            Decode(),
            Resize(mode="shorter_side", size=[32]),
            CenterCrop(size=[32, 32]),
            ToFloat(),
            Layout(),
        ]
    )
    aff = input_affine(spec, 40, 80)  # -> 32x64, crop left 16
    assert (aff.ax, aff.bx, aff.ay, aff.by) == (0.8, -16.0, 0.8, 0.0)
    _, t = detection_item(
        spec,
        np.zeros((40, 80, 3), np.uint8),
        np.asarray([[0, 0, 10, 10], [30, 5, 50, 20]]),
        np.asarray([1, 2]),
        None,
        4,
    )
    # the first box lies in the cropped-off strip: dropped; the second clipped to the 32x32 input
    np.testing.assert_allclose(t[0], [2, 8, 4, 24, 16])
    assert t[1:, 0].tolist() == [-1, -1, -1]


def test_target_rows_padding() -> None:
    t = target_rows(
        np.asarray([[1, 2, 3, 4], [5, 5, 5, 9], [0, 0, 100, 100]]), np.asarray([3, 4, 5]), 4, 50, 60
    )
    assert t.dtype == np.float32 and t.shape == (4, 5)
    np.testing.assert_array_equal(t, [[3, 1, 2, 3, 4], [5, 0, 0, 60, 50], [-1, 0, 0, 0, 0], [-1, 0, 0, 0, 0]])
    assert target_rows(np.zeros((3, 4)), np.zeros(3), 2, 10, 10)[:, 0].tolist() == [-1, -1]


# -- augmentation carries the boxes -------------------------------------------------------------------
def test_flip_moves_the_box_with_the_pixels() -> None:
    spec = letterbox_spec(64, 64)
    box = [8, 4, 20, 30]  # in a 40x60 (h x w) image
    img = white_rect_image(40, 60, box)
    for op, want in (
        ("horizontal_flip", [60 - 20, 4, 60 - 8, 30]),
        ("vertical_flip", [8, 40 - 30, 20, 40 - 4]),
    ):
        aug = build_box_augmenter(AugmentConfig.model_validate({"steps": [{"op": op, "p": 1.0}]}), spec, 0)
        assert aug is not None
        x, t = detection_item(spec, img, np.asarray([box], np.float32), np.asarray([1]), aug, 3)
        expect = input_affine(spec, 40, 60).forward_boxes(np.asarray([want], np.float64))[0]
        np.testing.assert_allclose(t[0, 1:], expect, atol=1e-4)
        assert np.abs(np.asarray(ink_box(x)) - t[0, 1:]).max() <= 1.0  # the pixels moved the same way
        assert t[0, 0] == 1


def test_random_crop_and_affine_keep_boxes_on_the_ink() -> None:
    spec = letterbox_spec(64, 64)
    cfg = AugmentConfig.model_validate(
        {
            "steps": [
                {"op": "random_resized_crop", "scale": [0.6, 1.0], "p": 1.0},
                {"op": "affine", "rotate": 0, "translate": 0.1, "scale": [0.8, 1.2], "p": 1.0},
                {"op": "color_jitter", "p": 1.0},
            ]
        }
    )
    aug = build_box_augmenter(cfg, spec, 3)
    assert aug is not None and aug.replaces_geometry
    box = [20, 20, 50, 44]
    n_checked = 0
    for s in range(8):
        aug.seed(s)
        x, t = detection_item(spec, white_rect_image(64, 80, box), np.asarray([box]), np.asarray([0]), aug, 2)
        assert x.shape == (3, 64, 64)
        if t[0, 0] == 0:
            mask = x.max(axis=0) > 0.5 * x.max()  # the white square, under the colour jitter
            ys, xs = np.nonzero(mask)
            got = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            assert np.abs(np.asarray(got) - t[0, 1:]).max() <= 2.0
            n_checked += 1
    assert n_checked >= 4


def test_augment_that_cannot_carry_boxes_is_refused() -> None:
    import albumentations as A
    from albumentations.core.type_definitions import Targets

    class PixelsOnlyWarp(A.DualTransform):  # moves pixels, declares no bounding-box target
        _targets = (Targets.IMAGE, Targets.MASK)

    with pytest.raises(AugmentError, match=r"augment.steps.1 'warp' cannot move boxes"):
        check_carries_boxes([A.HorizontalFlip(), PixelsOnlyWarp()], ["horizontal_flip", "warp"])
    check_carries_boxes([A.HorizontalFlip(), A.ColorJitter()], ["horizontal_flip", "color_jitter"])


# -- the engine ---------------------------------------------------------------------------------------
def _draw(**kw: object) -> dict[str, object]:
    return {"golden": {"split": "val", "count": 1}, "calibration": {"split": "train", "count": 2}, **kw}


@pytest.mark.parametrize("workers", [0, 2])
def test_stream_gives_padded_targets_in_input_pixels(workers: int) -> None:
    spec = letterbox_spec(64, 64)
    s = build_splits(coco_cfg(max_boxes=3, **_draw()), FIX, spec)
    assert s.train is not None and s.labels == ["cat", "dog"]
    batches = list(make_loader(s.train, 2, num_workers=workers, bad=s.bad))
    assert len(batches) == 1
    x, y = batches[0]
    assert x.shape == (2, 3, 64, 64) and y.shape == (2, 3, 5) and y.dtype == torch.float32
    aff_a = input_affine(spec, 48, 64)  # a.png: 64x48 -> 64x48 at top 8
    want_a = aff_a.forward_boxes(np.asarray([[10, 5, 30, 35], [50, 40, 64, 48]], np.float64))
    np.testing.assert_allclose(y[0, :2, 1:].numpy(), want_a, atol=1e-4)
    assert y[0, :, 0].tolist() == [0, 1, -1]
    np.testing.assert_allclose(y[1, 0].numpy(), [1, 0, 0, 64, 64])  # b.png: 40x40 fills the input
    assert y[1, 1:, 0].tolist() == [-1, -1]
    assert s.box_skip_lines() == [
        "train: 1 boxes partly outside the image, clipped to it (e.g. a.png (annotation id 2))"
    ]


def test_yolo_stream_golden_and_calibration() -> None:
    spec = letterbox_spec(32, 32)
    s = build_splits(yolo_cfg(**_draw()), FIX, spec)
    assert [g.label for g in s.golden] == [None] and str(s.golden[0].source).endswith("val/c.png")
    cal = calib_array(s)
    assert cal.shape == (2, 3, 32, 32)
    np.testing.assert_array_equal(cal[0], py_run(spec, str(FIX / "yolo/images/train" / "a.png"))[0][0])
    x, y = next(iter(make_loader(s.eval, 4)))
    np.testing.assert_allclose(
        y[0, 0].numpy(),
        [0, *input_affine(spec, 60, 80).forward_boxes(np.asarray([[4, 6, 12, 16]]))[0]],
        atol=1e-3,
    )


def test_train_stream_is_augmented_and_seeded() -> None:
    spec = letterbox_spec(64, 64)
    aug = AugmentConfig.model_validate({"steps": [{"op": "horizontal_flip", "p": 0.5}]})
    s = build_splits(coco_cfg(**_draw()), FIX, spec, augment=aug, seed=1)
    assert s.train is not None and s.eval.augment is None and s.calib.augment is None
    st = make_loader(s.train, 2, seed=4)
    runs = [[y.clone() for _, y in st.epoch(e)] for e in range(6)]
    again = [y.clone() for _, y in st.epoch(0)]
    assert all(torch.equal(a, b) for a, b in zip(runs[0], again, strict=True))  # seeded per epoch
    xs = {round(float(r[0][0, 0, 1]), 3) for r in runs}  # a.png's cat x1: 10 or flipped 64 - 30 = 34
    assert xs == {10.0, 34.0}


def test_classification_augmenter_refused_for_detection_split() -> None:
    from edgekit.data.augment import build_augmenter
    from edgekit.data.detection import resolve_detection

    spec = letterbox_spec(64, 64)
    res = resolve_detection(coco_cfg().source, coco_cfg(), FIX, "data.source")  # type: ignore[arg-type]
    aug = build_augmenter(AugmentConfig.model_validate({"steps": [{"op": "horizontal_flip"}]}), spec)
    with pytest.raises(TypeError, match="a detection split takes a BoxAugmenter"):
        StreamDataset("train", res.splits["train"], spec, aug)


def test_undecodable_detection_image_is_counted(tmp_path: Path) -> None:
    import shutil

    f = tmp_path / "f"
    shutil.copytree(FIX, f)
    (f / "coco/images/b.png").write_bytes(b"\x89PNG not really")
    s = build_splits(coco_cfg(max_bad_fraction=0.5, **_draw()), f, letterbox_spec())
    got = [y for _, y in make_loader(s.train, 2, bad=s.bad)]  # type: ignore[arg-type]
    assert len(got) == 1 and got[0].shape == (1, 50, 5) and s.bad.count == 1


def test_exif_rule_gives_the_boxes_frame(tmp_path: Path) -> None:
    """Boxes are in the DECODED image's pixels (after the spec's EXIF rule): a JPEG stored 60x40 (w x h)
    with Orientation 6 shows 40x60; with exif: apply the displayed white square is where the box says."""
    import json

    from PIL import Image

    shown = white_rect_image(60, 40, [4, 30, 20, 50])  # displayed: h 60, w 40
    stored = np.ascontiguousarray(np.rot90(shown, 1))  # Orientation 6 = rotate 90 CW to display
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / "img").mkdir()
    Image.fromarray(stored).save(tmp_path / "img" / "r.jpg", quality=98, exif=exif.tobytes())
    (tmp_path / "a.json").write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "r.jpg", "width": 40, "height": 60}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [4, 30, 16, 20]}],
                "categories": [{"id": 1, "name": "square"}],
            }
        )
    )
    files = {"annotations": "a.json", "images": "img"}
    cfg = coco_cfg(source={"train": files, "val": files}, **_draw())
    spec = letterbox_spec(64, 64)
    s = build_splits(cfg, tmp_path, spec)
    x, y = next(iter(make_loader(s.eval, 1)))
    assert np.abs(np.asarray(ink_box(x[0].numpy())) - y[0, 0, 1:].numpy()).max() <= 1.5
    ignore = PreprocessSpec(steps=[Decode(exif="ignore"), *spec.steps[1:]])
    s2 = build_splits(cfg, tmp_path, ignore)
    _, y2 = next(iter(make_loader(s2.eval, 1)))
    want = input_affine(ignore, 40, 60).forward_boxes(np.asarray([[4, 30, 20, 40]]))[0]  # clipped to 60x40
    np.testing.assert_allclose(y2[0, 0, 1:].numpy(), want, atol=1e-4)


def test_worker_processes_augment_boxes_seeded() -> None:
    """Two DataLoader worker processes: each seeds its box augmenter from the epoch's generator, so an epoch
    repeats exactly; a.png's cat box is the plain or the mirrored one, in input pixels."""
    spec = letterbox_spec(64, 64)
    aug = AugmentConfig.model_validate({"steps": [{"op": "horizontal_flip", "p": 0.5}]})
    s = build_splits(coco_cfg(**_draw()), FIX, spec, augment=aug, seed=2)
    assert s.train is not None
    st = make_loader(s.train, 1, num_workers=2, seed=5)
    first = [(x.clone(), y.clone()) for x, y in st.epoch(1)]
    again = [(x.clone(), y.clone()) for x, y in st.epoch(1)]
    assert len(first) == 2
    for (x, y), (x2, y2) in zip(first, again, strict=True):
        assert torch.equal(x, x2) and torch.equal(y, y2)
    _, y = first[0]  # a.png (no shuffle): row 0 is its cat
    assert y[0, 0, 0] == 0
    aff = input_affine(spec, 48, 64)
    plain = aff.forward_boxes(np.asarray([[10, 5, 30, 35]]))[0]
    flipped = aff.forward_boxes(np.asarray([[34, 5, 54, 35]]))[0]
    got = y[0, 0, 1:].numpy()
    assert np.allclose(got, plain, atol=1e-4) or np.allclose(got, flipped, atol=1e-4)
