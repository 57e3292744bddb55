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

if TYPE_CHECKING:
    import numpy as np
    import torch
    import torch.nn as nn

    from edgekit.bundle import GoldenItem, Manifest, ModelEntry
    from edgekit.examples.base import Example, ExampleData, Recipe
    from edgekit.profiles import DeviceProfile
    from edgekit.stages.progress import Reporter


@dataclass
class StageRecord:
    """One row of ``manifest.extra["stages"]``."""

    stage: str
    model_id: str
    accuracy: float | None
    params: int | None
    macs: int | None
    onnx_bytes: int | None
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
    x_train: torch.Tensor | None = None
    y_train: torch.Tensor | None = None
    x_eval: torch.Tensor | None = None
    y_eval: torch.Tensor | None = None
    x_calib: np.ndarray | None = None
    # models
    teacher: nn.Module | None = None
    student: nn.Module | None = None  # the deployed model as it evolves (distilled, pruned, fine-tuned)
    qmodel: nn.Module | None = None  # the fake-quant (TensorRT flavour) student
    teacher_logits: torch.Tensor | None = None  # teacher on x_train (from distill; reused by KD fine-tunes)
    # outputs
    onnx: dict[str, Path] = field(default_factory=dict)  # model id -> ONNX file under root
    models: list[ModelEntry] = field(default_factory=list)
    torch_models: dict[str, nn.Module] = field(default_factory=dict)  # model id -> reference module
    references: dict[str, str] = field(default_factory=dict)  # model id -> reference file (relative)
    golden: list[GoldenItem] = field(default_factory=list)
    dla_cache: Path | None = None  # the calibration cache written with the DLA translation
    records: list[StageRecord] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
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
