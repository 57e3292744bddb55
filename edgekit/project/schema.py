"""The project config, ``edgekit.yaml`` (schema version 1): one file per project, built-in examples included.

    schema_version: 1
    name: my-project
    task: classification
    device: cpu                 # default for `edgekit build` (--device overrides)
    model:
      teacher: {factory: model.py:build, kwargs: {classes: 3}, weights: teacher.pt, pretrained: false}
      student: {factory: model.py:build_small}      # optional: none deploys the (pruned) teacher
    prune: {ignore: [head.proj]}                     # the classifier is always kept
    data: ...                                        # edgekit/data/config.py
    augment: ...                                     # edgekit/data/config.py
    preprocess: {steps: [...]}                       # the deployment spec, written into the bundle
    recipe: {steps: [distill, prune, qat], epochs: {teacher: 5}, batch_size: 32, lr: 0.001, ...}
    train: {device: auto, amp: true, num_workers: 2}

Relative paths are relative to the config's folder. Validation errors name the dotted key and the line.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from edgekit.data.config import AugmentConfig, DataConfig
from edgekit.preprocess.spec import PreprocessSpec

SCHEMA_VERSION = 1
OPTIONAL_STEPS = ("distill", "prune", "qat", "ptq")
_FACTORY = re.compile(r"^(timm|torchvision):[A-Za-z0-9_.\-]+$|^[^:\s]+:[A-Za-z_][A-Za-z0-9_]*$")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelRef(_M):
    """A model factory: ``package.module:callable``, ``path/to/file.py:callable`` (relative to the config),
    or ``torchvision:NAME`` (weights=None; give ``weights``)."""

    factory: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    weights: str | None = None  # a state dict file (torch.save), loaded strictly
    pretrained: bool = False  # true: skip training (needs weights, or a factory that loads its own)

    @field_validator("factory")
    @classmethod
    def _shape(cls, v: str) -> str:
        if not _FACTORY.match(v):
            raise ValueError(
                f"'{v}' is not 'package.module:callable', 'path/to/file.py:callable' or 'torchvision:NAME'"
            )
        return v


class ModelSection(_M):
    teacher: ModelRef
    student: ModelRef | None = None


class PruneSection(_M):
    ignore: list[str] = Field(default_factory=list)  # module names (model.named_modules()) kept whole
    keep_classifier: bool = True  # the last nn.Linear (or `classifier:` below) is never pruned
    classifier: str | None = None  # module name of the classification layer (default: the last nn.Linear)


class Epochs(_M):
    teacher: int = Field(3, ge=0)
    distill: int = Field(3, ge=0)
    finetune: int = Field(2, ge=0)
    qat: int = Field(1, ge=0)


class KD(_M):
    temperature: float = Field(4.0, gt=0)
    alpha: float = Field(0.7, ge=0, le=1)


def _finite(v: float | None, what: str = "value") -> float | None:
    if v is not None and not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, not {v}")
    return v


class RecipeFields(_M):
    """Everything in ``recipe:`` except ``fast`` (the overrides used by `edgekit build --fast`)."""

    steps: list[Literal["distill", "prune", "qat", "ptq"]] | None = None
    epochs: Epochs | None = None
    batch_size: int | None = Field(None, ge=1)
    optimizer: Literal["adam", "adamw", "sgd"] | None = None
    lr: float | None = Field(None, gt=0)
    qat_lr: float | None = Field(None, gt=0)
    schedule: Literal["onecycle", "cosine", "constant"] | None = None
    weight_decay: float | None = Field(None, ge=0)
    kd: KD | None = None
    prune_ratio: float | None = Field(None, ge=0, lt=1)
    prune_target_ms: float | None = Field(None, gt=0)  # a latency target (edgekit/stages/budget.py)
    max_train: int | None = Field(None, ge=1)
    calib_images: int | None = Field(None, ge=1)
    seed: int | None = Field(None, ge=0)

    @field_validator("lr", "qat_lr", "weight_decay", "prune_target_ms", "prune_ratio")
    @classmethod
    def _not_nan(cls, v: float | None) -> float | None:
        return _finite(v)

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        if len(set(v)) != len(v):
            raise ValueError(f"steps repeat: {v}")
        if "qat" in v and "ptq" in v:
            raise ValueError("steps hold 'qat' or 'ptq', not both")
        order = [OPTIONAL_STEPS.index(s) if s != "ptq" else OPTIONAL_STEPS.index("qat") for s in v]
        if order != sorted(order):
            raise ValueError(f"steps are out of order: {v} (order: distill, prune, qat|ptq)")
        return v


class RecipeSection(RecipeFields):
    fast: RecipeFields = Field(default_factory=RecipeFields)


class TrainSection(_M):
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision on CUDA (ignored on the CPU)
    num_workers: int = Field(2, ge=0)

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", v):
            raise ValueError(f"'{v}' is not auto, cpu, cuda or cuda:N")
        return v


class DetectionPostprocessSection(_M):
    """``postprocess:`` of a ``task: detection`` project: the manifest's DetectionPostprocess
    (edgekit/bundle.py) minus ``type`` and ``labels_file``, with the same bounds (a test keeps them equal)."""

    encoding: Literal["edgekit_ltrb", "anchor_free_grid"] = "edgekit_ltrb"
    stride: int = Field(8, ge=1, le=1024)
    box_format: Literal["cxcywh", "xyxy"] = "cxcywh"
    score_activation: Literal["sigmoid", "none"] = "sigmoid"
    score_threshold: float = Field(0.3, ge=0.0, le=1.0)
    nms_iou: float = Field(0.5, gt=0.0, le=1.0)
    max_detections: int = Field(100, ge=1, le=10000)
    pre_nms_top_k: int = Field(1000, ge=1, le=100000)
    class_agnostic: bool = False
    background_class: bool = False
    coordinates: Literal["original", "input"] = "original"
    score_margin: float = Field(0.05, ge=0.0, le=0.5)

    @field_validator("score_threshold", "nms_iou", "score_margin")
    @classmethod
    def _not_nan(cls, v: float) -> float:
        _finite(v)
        return v


class ProjectConfig(_M):
    schema_version: int
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""
    task: Literal["classification", "detection"] = "classification"
    device: str | None = None  # the default device profile for `edgekit build`
    out: str | None = None  # the default bundle folder (relative to the config)
    notes: list[str] = Field(default_factory=list)  # caveats copied into the build record
    model: ModelSection
    prune: PruneSection = Field(default_factory=PruneSection)
    data: DataConfig
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    preprocess: PreprocessSpec
    recipe: RecipeSection = Field(default_factory=RecipeSection)
    train: TrainSection = Field(default_factory=TrainSection)
    postprocess: DetectionPostprocessSection | None = None  # task: detection only (defaults when absent)

    @field_validator("postprocess")
    @classmethod
    def _post_task(cls, v: DetectionPostprocessSection | None,
                   info: ValidationInfo) -> DetectionPostprocessSection | None:
        if v is not None and info.data.get("task", "classification") != "detection":
            raise ValueError("a postprocess block is for task: detection (classification takes none)")
        return v

    @field_validator("schema_version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(f"version {v} is not supported (this edgekit reads {SCHEMA_VERSION})")
        return v
