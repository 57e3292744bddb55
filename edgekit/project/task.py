"""The task seam: what the pipeline asks of a task (loss, metric, output names and shapes, the postprocessing
written into the manifest). Stages only call these methods; a new task (detection) registers here and the
stages stay as they are."""

from __future__ import annotations

from typing import Any, Protocol

import torch
import torch.nn.functional as F

from edgekit.bundle import PostprocessInfo
from edgekit.errors import ConfigError


class Task(Protocol):
    name: str

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...

    def kd_loss(
        self,
        student: torch.Tensor,
        teacher: torch.Tensor,
        target: torch.Tensor,
        temperature: float,
        alpha: float,
    ) -> torch.Tensor: ...

    def metric(self, outputs: torch.Tensor, target: torch.Tensor) -> float: ...

    def metric_name(self) -> str: ...

    def output_names(self) -> list[str]: ...

    def output_shapes(self, n_classes: int) -> list[list[int]]: ...

    def postprocess(self, labels: list[str]) -> PostprocessInfo: ...

    def check_output(self, out: Any, batch: int, n_classes: int) -> str | None:
        """None when a forward's result fits the task, else what is wrong."""


class Classification:
    name = "classification"

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target)

    def kd_loss(
        self,
        student: torch.Tensor,
        teacher: torch.Tensor,
        target: torch.Tensor,
        temperature: float,
        alpha: float,
    ) -> torch.Tensor:
        """Hinton et al.: alpha * KL(softmax(t/T) || softmax(s/T)) * T^2 + (1 - alpha) * CE(s, y)."""
        t = temperature
        soft = F.kl_div(
            F.log_softmax(student / t, dim=1),
            F.log_softmax(teacher / t, dim=1),
            reduction="batchmean",
            log_target=True,
        ) * (t * t)
        return alpha * soft + (1.0 - alpha) * F.cross_entropy(student, target)

    def metric(self, outputs: torch.Tensor, target: torch.Tensor) -> float:
        if len(target) == 0:
            return float("nan")
        return round(float((outputs.argmax(1) == target).float().mean()), 6)

    def metric_name(self) -> str:
        return "top1"

    def output_names(self) -> list[str]:
        return ["logits"]

    def output_shapes(self, n_classes: int) -> list[list[int]]:
        return [[-1, n_classes]]

    def postprocess(self, labels: list[str]) -> PostprocessInfo:
        return PostprocessInfo(type="classification", apply_softmax=True, top_k=min(5, len(labels)))

    def check_output(self, out: Any, batch: int, n_classes: int) -> str | None:
        if not isinstance(out, torch.Tensor):
            return f"returns a {type(out).__name__}, not one tensor of logits"
        if list(out.shape) != [batch, n_classes]:
            return f"gives shape {list(out.shape)}, not [{batch}, {n_classes}] ([N, classes])"
        return None


TASKS: dict[str, type] = {"classification": Classification}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ConfigError(f"task '{name}' is not known", f"use one of: {', '.join(TASKS)}")
    task: Task = TASKS[name]()
    return task
