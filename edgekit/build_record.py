"""The typed build record: ``manifest.build``, written by `edgekit build`, read by the CLI table, the report
and tests. It replaces the pipeline's free-form ``manifest.extra`` keys (``stages``, ``data``, ``plan``,
``recipe``, ``notes``, ``teacher_source`` ...), whose writers and readers disagreed. ``manifest.extra`` keeps
only what tools outside the pipeline attach (hooks results, references, bench, parity, trt_plan).

Pydantic models, so the manifest's C++ validation can be generated from them like the rest of bundle.py."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _R(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageRow(_R):
    """One measured stage: accuracy on the held-out set (ONNX rows: in ONNX Runtime), size, time."""

    stage: str
    model_id: str
    accuracy: float | None = None
    params: int | None = None
    macs: int | None = None
    onnx_bytes: int | None = None
    seconds: float = 0.0
    reused: bool = False  # taken from the stage cache (inputs unchanged), not recomputed


class DataCounts(_R):
    train: int = 0
    eval: int = 0
    calib: int = 0
    golden: int = 0
    bad_images: int = 0
    preprocess_seconds: float = 0.0


class RecipeRecord(_R):
    teacher_epochs: int
    distill_epochs: int
    finetune_epochs: int
    qat_epochs: int
    batch_size: int
    lr: float
    qat_lr: float
    temperature: float
    alpha: float
    prune_ratio: float
    max_train: int | None = None
    calib_images: int
    optimizer: str = "adam"
    schedule: str = "onecycle"
    weight_decay: float = 0.0
    prune_target_ms: float | None = None


class FitRow(_R):
    """One training step run by edgekit.train.loop.fit.

    ``resumed_from_epoch``: the completed epochs found in its checkpoint (None: a fresh start)."""

    epochs: int
    resumed_from_epoch: int | None = None
    images: int = 0
    seconds: float = 0.0
    images_per_s: float = 0.0
    device: str = "cpu"
    amp: bool = False
    bad_images: int = 0


class BuildRecord(_R):
    project: str
    config_sha256: str = ""
    task: Literal["classification"] = "classification"
    metric: str = "top1"
    fast: bool = False
    seed: int = 0
    plan: list[str] = Field(default_factory=list)
    recipe: RecipeRecord | None = None
    labels_sha256: str = ""
    data: DataCounts = Field(default_factory=DataCounts)
    teacher_source: Literal["trained", "pretrained", "checkpoint", "reused"] | None = None
    student_is_teacher: bool = False
    ptq_accuracy: float | None = None
    stages: list[StageRow] = Field(default_factory=list)
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    fits: dict[str, FitRow] = Field(default_factory=dict)  # stage -> its training run
    reused_stages: list[str] = Field(default_factory=list)
    resumed: bool = False
    preflight: list[str] = Field(default_factory=list)
    train_device: str = "cpu"
    notes: list[str] = Field(default_factory=list)
