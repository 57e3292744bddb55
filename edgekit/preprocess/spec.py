"""The preprocessing spec: an ordered, declarative list of steps stored in the bundle manifest.

Python training, Python evaluation and the C++ runtime all interpret this same list. Every step
works on one image: ``decode`` yields an HxWxC uint8 array (C = 3 in BGR order for ``color: bgr``,
C = 1 for ``gray``); steps up to ``to_float`` stay uint8 (this keeps resizing bit-exact between
OpenCV builds); ``to_float`` and ``normalize`` produce float32 HxWxC; ``layout`` is the last step and
adds the batch axis (NCHW or NHWC). Geometry is integer arithmetic, identical in both languages.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgekit.contract import MAX_SIDE, RuleViolation, Side, Std, model_rules

Interp = Literal["linear", "area", "nearest", "linear_exact"]
ColorCode = Literal["BGR2RGB", "RGB2BGR", "BGR2GRAY", "RGB2GRAY", "GRAY2BGR", "GRAY2RGB"]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Decode(_Step):
    """Decode in colour (BGR); ``gray`` then converts with OpenCV's fixed-point BGR2GRAY: exact for gray
    images, identical across libpng/libjpeg builds (unlike IMREAD_GRAYSCALE), the same as camera frames."""

    op: Literal["decode"] = "decode"
    color: Literal["bgr", "gray"] = "bgr"
    # EXIF orientation: ``apply`` rotates/flips a file as its EXIF Orientation tag says (OpenCV's default,
    # what photo viewers show); ``ignore`` keeps the stored pixel order (IMREAD_IGNORE_ORIENTATION). Camera
    # frames and PNGs carry no tag, so both rules agree on them. The C++ runtime uses the same flag.
    exif: Literal["apply", "ignore"] = "apply"


class CvtColor(_Step):
    op: Literal["cvt_color"] = "cvt_color"
    code: ColorCode


class Resize(_Step):
    """``stretch``: to exactly ``size`` [h, w]. ``shorter_side``: the shorter side becomes ``size[0]``
    (size has one element), the other keeps the aspect ratio, rounded half up in integers.
    ``letterbox``: fit inside ``size`` [h, w] keeping the aspect ratio, centred, padded with ``pad_value``."""

    op: Literal["resize"] = "resize"
    mode: Literal["stretch", "shorter_side", "letterbox"] = "stretch"
    size: list[Side] = Field(min_length=1, max_length=2, description=f"pixels, 1..{MAX_SIDE}")
    interpolation: Interp = "linear"
    pad_value: int = Field(0, ge=0, le=255)
    model_config = ConfigDict(json_schema_extra=model_rules("spec.resize_size_arity"))

    @model_validator(mode="after")
    def _sizes(self) -> Resize:
        want = 1 if self.mode == "shorter_side" else 2
        if len(self.size) != want:
            raise RuleViolation(
                "spec.resize_size_arity", f"resize mode '{self.mode}' takes size with {want} element(s)"
            )
        return self


class CenterCrop(_Step):
    op: Literal["center_crop"] = "center_crop"
    size: list[Side] = Field(min_length=2, max_length=2)


class ToFloat(_Step):
    """uint8 -> float32, ``x * float32(scale)`` (the C++ side: ``convertTo(CV_32F, scale)``)."""

    op: Literal["to_float"] = "to_float"
    scale: float = Field(1.0 / 255.0, gt=0)


class Normalize(_Step):
    """float32 per channel: ``(x - float32(mean[c])) / float32(std[c])``."""

    op: Literal["normalize"] = "normalize"
    mean: list[float] = Field(min_length=1, max_length=4)
    std: list[Std] = Field(min_length=1, max_length=4)
    model_config = ConfigDict(json_schema_extra=model_rules("spec.normalize_lengths"))

    @model_validator(mode="after")
    def _lengths(self) -> Normalize:
        if len(self.mean) != len(self.std):
            raise RuleViolation("spec.normalize_lengths", "normalize needs as many std values as mean values")
        return self


class Layout(_Step):
    """HWC -> NCHW or NHWC with a batch axis of 1. Always the last step."""

    op: Literal["layout"] = "layout"
    to: Literal["NCHW", "NHWC"] = "NCHW"


Step = Annotated[
    Decode | CvtColor | Resize | CenterCrop | ToFloat | Normalize | Layout, Field(discriminator="op")
]


class PreprocessSpec(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        json_schema_extra=model_rules(
            "spec.first_decode",
            "spec.last_layout",
            "spec.one_to_float",
            "spec.geometry_before_float",
            "spec.normalize_after_float",
        ),
    )
    steps: list[Step] = Field(min_length=2, max_length=64)

    @model_validator(mode="after")
    def _order(self) -> PreprocessSpec:
        ops = [s.op for s in self.steps]
        if ops[0] != "decode" or ops.count("decode") != 1:
            raise RuleViolation("spec.first_decode", "the first step must be 'decode', and only the first")
        if ops[-1] != "layout" or ops.count("layout") != 1:
            raise RuleViolation("spec.last_layout", "the last step must be 'layout', and only the last")
        if ops.count("to_float") != 1:
            raise RuleViolation("spec.one_to_float", "exactly one 'to_float' step is needed")
        i_float = ops.index("to_float")
        for i, op in enumerate(ops):
            if op in ("resize", "center_crop", "cvt_color") and i > i_float:
                raise RuleViolation(
                    "spec.geometry_before_float",
                    f"step {i} '{op}' must come before 'to_float' (geometry stays in uint8)",
                )
            if op == "normalize" and i < i_float:
                raise RuleViolation(
                    "spec.normalize_after_float", f"step {i} 'normalize' must come after 'to_float'"
                )
        return self

    # -- derived facts -------------------------------------------------------------------------
    def output_channels(self) -> int:
        c = 1 if self.steps[0].color == "gray" else 3  # type: ignore[union-attr]
        for s in self.steps:
            if isinstance(s, CvtColor):
                c = 1 if s.code.endswith("GRAY") else 3
        return c

    def output_hw(self) -> tuple[int, int] | None:
        """The fixed output size, or None when it depends on the input image."""
        hw: tuple[int, int] | None = None
        for s in self.steps:
            if isinstance(s, Resize) and s.mode != "shorter_side":
                hw = (s.size[0], s.size[1])
            elif isinstance(s, Resize):
                hw = None
            elif isinstance(s, CenterCrop):
                hw = (s.size[0], s.size[1])
        return hw

    def input_shape(self) -> list[int]:
        hw = self.output_hw()
        if hw is None:
            raise ValueError("the spec has no fixed output size: end geometry with a resize or crop")
        c = self.output_channels()
        layout = self.steps[-1]
        assert isinstance(layout, Layout)
        return [1, c, hw[0], hw[1]] if layout.to == "NCHW" else [1, hw[0], hw[1], c]

    def step_names(self) -> list[str]:
        """The stage names used for dumps: ``{index:02d}_{op}``."""
        return [f"{i:02d}_{s.op}" for i, s in enumerate(self.steps)]

    def to_json_obj(self) -> dict:
        return {"steps": [s.model_dump() for s in self.steps]}

    def sha256(self) -> str:
        blob = json.dumps(self.to_json_obj(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


def mnist_spec(size: int = 28) -> PreprocessSpec:
    return PreprocessSpec(
        steps=[
            Decode(color="gray"),
            Resize(mode="stretch", size=[size, size], interpolation="area"),
            ToFloat(scale=1.0 / 255.0),
            Normalize(mean=[0.1307], std=[0.3081]),
            Layout(to="NCHW"),
        ]
    )


def imagenet_spec(size: int = 224, resize_to: int = 256) -> PreprocessSpec:
    return PreprocessSpec(
        steps=[
            Decode(color="bgr"),
            CvtColor(code="BGR2RGB"),
            Resize(mode="shorter_side", size=[resize_to], interpolation="linear"),
            CenterCrop(size=[size, size]),
            ToFloat(scale=1.0 / 255.0),
            Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
            Layout(to="NCHW"),
        ]
    )
