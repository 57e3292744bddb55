"""The typed build record: ``manifest.build``, written by `edgekit build`, read by the CLI table, the report
and tests. It replaces the pipeline's free-form ``manifest.extra`` keys (``stages``, ``data``, ``plan``,
``recipe``, ``notes``, ``teacher_source`` ...), whose writers and readers disagreed. ``manifest.extra`` keeps
only what tools outside the pipeline attach (hooks results, references, bench, parity, trt_plan).

Pydantic models, so the manifest's C++ validation can be generated from them like the rest of bundle.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# every integer of the manifest is bounded (the contract: edgekit/contract, tests/contract/test_generated.py)
Count = Annotated[int, Field(ge=0, le=2**53)]


class _R(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageRow(_R):
    """One measured stage: accuracy on the held-out set (ONNX rows: in ONNX Runtime), size, time."""

    stage: str
    model_id: str
    accuracy: float | None = None
    params: Count | None = None
    macs: Count | None = None
    onnx_bytes: Count | None = None
    seconds: float = 0.0
    reused: bool = False  # taken from the stage cache (inputs unchanged), not recomputed


class DataCounts(_R):
    train: Count = 0
    eval: Count = 0
    calib: Count = 0
    golden: Count = 0
    bad_images: Count = 0
    preprocess_seconds: float = 0.0


class RecipeRecord(_R):
    teacher_epochs: Count
    distill_epochs: Count
    finetune_epochs: Count
    qat_epochs: Count
    batch_size: Count
    lr: float
    qat_lr: float
    temperature: float
    alpha: float
    prune_ratio: float
    max_train: Count | None = None
    calib_images: Count
    optimizer: str = "adam"
    schedule: str = "onecycle"
    weight_decay: float = 0.0
    prune_target_ms: float | None = None


class FitRow(_R):
    """One training step run by edgekit.train.loop.fit.

    ``resumed_from_epoch``: the completed epochs found in its checkpoint (None: a fresh start)."""

    epochs: Count
    resumed_from_epoch: Count | None = None
    images: Count = 0
    seconds: float = 0.0
    images_per_s: float = 0.0
    device: str = "cpu"
    amp: bool = False
    bad_images: Count = 0


class BuildRecord(_R):
    project: str
    config_sha256: str = ""
    task: Literal["classification"] = "classification"
    metric: str = "top1"
    fast: bool = False
    seed: Count = 0
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
