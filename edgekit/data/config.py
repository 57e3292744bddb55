"""The ``data`` and ``augment`` sections of a project config (``edgekit.yaml``), as pydantic models.

Paths are kept as written; the loader resolves them against the config's folder (``base``). Every
validator raises ``ValueError`` with one line, which the project loader reports with the dotted key and
the YAML line.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SPLIT_NAME = r"^[A-Za-z_][A-Za-z0-9_\-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_fraction(v: float | None) -> float | None:
    if v is not None and not 0.0 < v < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {v}")
    return v


class ImageFolderSource(_Model):
    """``root/train/<class>/*`` and ``root/val/<class>/*``; or ``root/<class>/*`` with a seeded,
    stratified ``val_fraction`` held out per class."""

    kind: Literal["image_folder"] = "image_folder"
    root: str
    val_fraction: float | None = None
    seed: int = 0

    @field_validator("val_fraction")
    @classmethod
    def _frac(cls, v: float | None) -> float | None:
        return _check_fraction(v)


class CsvSource(_Model):
    """CSV files of ``path,label`` rows (an optional ``path,label`` header is skipped); paths are relative
    to ``root`` (default: the CSV's folder). ``val`` or ``val_fraction`` gives the held-out split."""

    kind: Literal["csv"] = "csv"
    train: str
    val: str | None = None
    val_fraction: float | None = None
    root: str | None = None
    seed: int = 0

    @field_validator("val_fraction")
    @classmethod
    def _frac(cls, v: float | None) -> float | None:
        return _check_fraction(v)

    @model_validator(mode="after")
    def _one_val(self) -> CsvSource:
        if self.val is not None and self.val_fraction is not None:
            raise ValueError("give csv 'val' or 'val_fraction', not both")
        return self


class FactorySource(_Model):
    """``package.module:callable`` or ``path/to/file.py:callable``, called as ``fn(split=NAME, **kwargs)``.
    It returns a sequence (``len`` + ``[i]``) or an iterable of ``(image, label)``: image a uint8 HxW[xC]
    array in the spec's decode colour order (BGR or gray), label an int (or None for unlabeled frames),
    or None when it has no such split. Class names come from the result's ``classes`` attribute or
    ``data.labels``."""

    kind: Literal["factory"] = "factory"
    factory: str
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("factory")
    @classmethod
    def _spec(cls, v: str) -> str:
        mod, sep, attr = v.rpartition(":")
        if not sep or not mod or not attr.isidentifier():
            raise ValueError(f"factory '{v}' must be 'package.module:callable' or 'path/to/file.py:callable'")
        return v


class CocoFiles(_Model):
    """One COCO split: the annotation JSON and the folder its ``images[].file_name`` are relative to
    (default: the JSON's folder)."""

    annotations: str
    images: str | None = None


class CocoSource(_Model):
    """COCO detection JSON (``images``, ``annotations`` with ``bbox`` [x, y, w, h] in image pixels,
    ``categories``): ``train`` plus ``val`` or a seeded ``val_fraction``; or a ``factory``
    (``module:callable``, called as ``fn(fast=..., **kwargs)``) that writes/finds the files and returns
    ``{"train": CocoFiles, "val": CocoFiles}`` (e.g. ``edgekit.data.composite:digits_detection``).
    Class ids: the categories sorted by id; names: their ``name`` (or ``data.labels``)."""

    kind: Literal["coco"] = "coco"
    train: CocoFiles | None = None
    val: CocoFiles | None = None
    val_fraction: float | None = None
    seed: int = 0
    factory: str | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("val_fraction")
    @classmethod
    def _frac(cls, v: float | None) -> float | None:
        return _check_fraction(v)

    @field_validator("factory")
    @classmethod
    def _spec(cls, v: str | None) -> str | None:
        return v if v is None else FactorySource._spec(v)

    @model_validator(mode="after")
    def _shape(self) -> CocoSource:
        if self.factory is not None:
            if self.train is not None or self.val is not None or self.val_fraction is not None:
                raise ValueError("give coco 'factory' or 'train'/'val' files, not both")
            return self
        if self.train is None:
            raise ValueError("coco needs 'train: {annotations: file.json, images: folder}' (or 'factory')")
        if self.val is not None and self.val_fraction is not None:
            raise ValueError("give coco 'val' or 'val_fraction', not both")
        return self


class YoloSource(_Model):
    """YOLO txt: ``root/images/<split>/*`` and ``root/labels/<split>/<stem>.txt`` (one ``class cx cy w h``
    line per box, normalized to [0, 1]; an empty or absent file is an image with no objects), splits
    ``train`` and ``val`` (or a seeded ``val_fraction`` of ``train``). Class names: ``data.labels``, else
    ``root/classes.txt``, else ``names`` in ``root/data.yaml``."""

    kind: Literal["yolo"] = "yolo"
    root: str
    val_fraction: float | None = None
    seed: int = 0

    @field_validator("val_fraction")
    @classmethod
    def _frac(cls, v: float | None) -> float | None:
        return _check_fraction(v)


Source = Annotated[ImageFolderSource | CsvSource | FactorySource | CocoSource | YoloSource,
                   Field(discriminator="kind")]


class SplitDraw(_Model):
    """``count`` items drawn (seeded, spread over the classes) from the named split."""

    split: str = Field(pattern=SPLIT_NAME)
    count: int = Field(ge=1)


class DataConfig(_Model):
    source: Source
    labels: str | None = None
    splits: dict[str, Source] = Field(default_factory=dict)
    calibration: SplitDraw = SplitDraw(split="train", count=256)
    golden: SplitDraw = SplitDraw(split="val", count=8)
    max_bad_fraction: float = Field(0.01, ge=0.0, le=1.0)
    cache: Literal["off", "disk"] = "off"
    cache_max_images: int = Field(20000, ge=1)
    max_boxes: int = Field(50, ge=1, le=10000)  # detection: target rows per image

    @field_validator("splits")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for k in v:
            if k in ("train", "val"):
                raise ValueError(f"split '{k}' comes from data.source; name extra splits otherwise")
            if not k.replace("_", "a").replace("-", "a").isalnum():
                raise ValueError(f"split name '{k}' must be letters, digits, '_' or '-'")
        return v

    @model_validator(mode="after")
    def _known_splits(self) -> DataConfig:
        known = {"train", "val", *self.splits}
        for key, draw in (("calibration", self.calibration), ("golden", self.golden)):
            if draw.split not in known:
                raise ValueError(
                    f"{key}.split '{draw.split}' is not a split (known: {', '.join(sorted(known))})"
                )
        return self


# -- augment ---------------------------------------------------------------------------------------
FLOAT_OPS = ("to_float", "normalize", "layout", "standardize", "to_tensor", "totensor", "totensorv2")


class _Aug(_Model):
    p: float = Field(1.0, ge=0.0, le=1.0)


class RandomResizedCrop(_Aug):
    """A random area/aspect crop, resized to the spec's output size. In training it stands in for the
    spec's geometry steps (resize/center_crop); ``size``, when given, must equal the spec's size."""

    op: Literal["random_resized_crop"] = "random_resized_crop"
    size: list[int] | None = Field(None, min_length=2, max_length=2)
    scale: tuple[float, float] = (0.5, 1.0)
    ratio: tuple[float, float] = (0.75, 4.0 / 3.0)


class HorizontalFlip(_Aug):
    op: Literal["horizontal_flip"] = "horizontal_flip"
    p: float = Field(0.5, ge=0.0, le=1.0)


class VerticalFlip(_Aug):
    op: Literal["vertical_flip"] = "vertical_flip"
    p: float = Field(0.5, ge=0.0, le=1.0)


class Affine(_Aug):
    """A small affine warp that keeps the image size: rotate (degrees, ±), translate (fraction, ±),
    scale range; borders filled with the edge pixels."""

    op: Literal["affine"] = "affine"
    rotate: float = Field(10.0, ge=0.0, le=180.0)
    translate: float = Field(0.05, ge=0.0, le=0.5)
    scale: tuple[float, float] = (0.9, 1.1)
    p: float = Field(0.5, ge=0.0, le=1.0)


class ColorJitter(_Aug):
    """Brightness/contrast/saturation (factors, ±) and hue (fraction of the circle, ±); saturation and hue
    are ignored for gray images."""

    op: Literal["color_jitter"] = "color_jitter"
    brightness: float = Field(0.2, ge=0.0, le=1.0)
    contrast: float = Field(0.2, ge=0.0, le=1.0)
    saturation: float = Field(0.2, ge=0.0, le=1.0)
    hue: float = Field(0.0, ge=0.0, le=0.5)
    p: float = Field(0.8, ge=0.0, le=1.0)


AugStep = Annotated[
    RandomResizedCrop | HorizontalFlip | VerticalFlip | Affine | ColorJitter, Field(discriminator="op")
]
AUG_OPS = ("random_resized_crop", "horizontal_flip", "vertical_flip", "affine", "color_jitter")


class AugmentConfig(_Model):
    """Training-only augmentation on uint8 images, before the spec's float steps. Never in the bundle."""

    steps: list[AugStep] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _float_steps(cls, v: Any) -> Any:
        steps = v.get("steps") if isinstance(v, dict) else None
        for i, s in enumerate(steps or []):
            op = s.get("op") if isinstance(s, dict) else None
            if isinstance(op, str) and op.lower() in FLOAT_OPS:
                raise ValueError(
                    f"augment step {i} '{op}' is a float step: augmentation runs on uint8 images before "
                    "the spec's float steps; put float steps in preprocess only"
                )
            if isinstance(op, str) and op not in AUG_OPS:
                raise ValueError(f"augment step {i} op '{op}' is unknown (use one of {', '.join(AUG_OPS)})")
        return v

    @model_validator(mode="after")
    def _order(self) -> AugmentConfig:
        ops = [s.op for s in self.steps]
        if "random_resized_crop" in ops and ops.index("random_resized_crop") != 0:
            raise ValueError("augment 'random_resized_crop' must be the first step "
                             "(it replaces the geometry)")
        if ops.count("random_resized_crop") > 1:
            raise ValueError("augment has more than one 'random_resized_crop'")
        return self
