"""BuildContext: everything the `edgekit build` stages share. A stage is a function
``(ctx) -> ctx``; the orchestrator (edgekit/build.py) runs an ordered list of them inside
``bundle.staging(out)``. Later stages (TensorRT check, DLA translation, plan, parity reference,
bench estimate) slot in the same way: they read ``ctx.onnx``/``ctx.torch_models``/``ctx.profile``
and write results into ``ctx.extra`` (which becomes ``manifest.extra``) or files under ``ctx.root``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgekit.build_record import BuildRecord, StageRow

if TYPE_CHECKING:
    import numpy as np
    import torch
    import torch.nn as nn

    from edgekit.bundle import GoldenItem, Manifest, ModelEntry
    from edgekit.data.engine import Splits
    from edgekit.examples.base import Example, ExampleData, GoldenSample, Recipe
    from edgekit.profiles import DeviceProfile
    from edgekit.project.reuse import StageCache
    from edgekit.stages.progress import Reporter


@dataclass
class StageRecord:
    """One row of ``manifest.build.stages`` (edgekit/build_record.py ``StageRow``)."""

    stage: str
    model_id: str
    accuracy: float | None
    params: int | None
    macs: int | None
    onnx_bytes: int | None
    seconds: float

    reused: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def row(self) -> StageRow:
        return StageRow(**self.as_dict())


@dataclass
class BuildContext:
    example: Example
    profile: DeviceProfile
    recipe: Recipe
    root: Path  # the staging folder: becomes the bundle on success
    reporter: Reporter
    fast: bool = False
    seed: int = 0
    teacher_ckpt: Path | None = None
    work: Path | None = None  # scratch folder outside the bundle (removed at the end)
    # data: preprocessed through the example's spec
    data: ExampleData | None = None
    x_calib: np.ndarray | None = None
    splits: Splits | None = None  # the streamed splits (edgekit/data/engine.py)
    golden_samples: list[GoldenSample] = field(default_factory=list)
    train_device: torch.device | None = None  # None: the CPU
    num_workers: int = 0
    amp: bool = True
    # models
    teacher: nn.Module | None = None
    student: nn.Module | None = None  # the deployed model as it evolves (distilled, pruned, fine-tuned)
    qmodel: nn.Module | None = None  # the fake-quant (TensorRT flavour) student
    kd_teacher: nn.Module | None = None  # set by distill: the fine-tune and QAT steps distill from it too
    # outputs
    onnx: dict[str, Path] = field(default_factory=dict)  # model id -> ONNX file under root
    models: list[ModelEntry] = field(default_factory=list)
    torch_models: dict[str, nn.Module] = field(default_factory=dict)  # model id -> reference module
    references: dict[str, str] = field(default_factory=dict)  # model id -> reference file (relative)
    golden: list[GoldenItem] = field(default_factory=list)
    dla_cache: Path | None = None  # the calibration cache written with the DLA translation
    records: list[StageRecord] = field(default_factory=list)
    figures: dict[str, dict[str, float]] = field(default_factory=dict)  # model id -> the task's other figures
    extra: dict[str, Any] = field(default_factory=dict)  # results of tools outside the pipeline (hooks ...)
    build: BuildRecord = field(default_factory=lambda: BuildRecord(project=""))  # the typed build record
    cache: StageCache | None = None  # stage reuse (edgekit/project/reuse.py); None: always recompute
    keys: dict[str, str] = field(default_factory=dict)  # stage -> reuse key (edgekit/project/reuse.py)
    resume: bool = False  # `edgekit build --resume`: continue an interrupted step from its checkpoint
    manifest: Manifest | None = None

    @property
    def opset(self) -> int:
        """The export opset: the profile's maximum, capped at 17 for the legacy exporter."""
        return min(self.profile.onnx_opset_max, 17)

    @property
    def has_int8(self) -> bool:
        return "int8" in self.profile.precisions and self.profile.int8_flavour != "none"

    def record(self, rec: StageRecord) -> None:
        self.records.append(rec)
        self.reporter.stage_done(rec)


Stage = Callable[[BuildContext], BuildContext]
