"""The example protocol: what a built-in example gives the `edgekit build` pipeline.

An example declares its preprocessing ONCE (``spec``); the pipeline runs every training, calibration
and evaluation image through ``edgekit.preprocess`` with that spec, so there are no separate
transforms. Images are handed over *decoded*: uint8 HxW or HxWxC arrays in the decode step's color
order (BGR for ``color: bgr``, one channel for ``gray``). Golden items are handed over *encoded*
(PNG/JPEG bytes or a file path) because the C++ runtime decodes them itself.

Stage plan: ``plan`` is an ordered tuple of step names from ``PLAN_STEPS``:

* ``train_teacher`` – train ``teacher(profile)`` from scratch on the training set;
* ``pretrained_teacher`` – use ``teacher(profile)`` as it is (pretrained weights);
* ``distill`` – distill ``student(profile, teacher)`` from the teacher (needs a student);
* ``prune`` – structured pruning of the deployed model (physically removes channels), then fine-tune;
* ``qat`` – TensorRT-flavour fake-quant INT8 with ``recipe.qat_epochs`` of training;
* ``ptq`` – the same fake-quant, calibrated only (no training: no offline training data needed).

The *deployed* model is the student when ``student()`` returns a module, else the teacher; the
bundle always names it ``student_*`` (``student_fp32``, ``student_int8_qdq``, ``student_int8_cpu``),
and ``teacher_fp32`` is the teacher (left out when it would be a copy of ``student_fp32``:
no student and no pruning). The pipeline's ONNX models take ``input`` (float32, shape
``spec.input_shape()`` with a dynamic batch) and return ``logits`` [N, len(labels)].

Additive changes only from here on: other examples (edgekit/examples/mobilenetv2.py) code against it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgekit.preprocess.spec import PreprocessSpec

if TYPE_CHECKING:
    import torch.nn as nn

    from edgekit.profiles import DeviceProfile

PLAN_STEPS = ("train_teacher", "pretrained_teacher", "distill", "prune", "qat", "ptq")


@dataclass(frozen=True)
class GoldenSample:
    """One golden image: encoded bytes (or a file to copy) plus its label. ``suffix`` is the file
    extension used in the bundle when ``source`` is bytes."""

    name: str
    source: bytes | Path
    label: int | None
    suffix: str = ".png"


@dataclass
class ExampleData:
    """Decoded uint8 images (a list, or an N x H x W[ x C] array) and int labels.

    ``train_*`` may be empty for examples that have no offline training data (plan without
    ``train_teacher``/``distill``/``qat``); ``calib_images`` must then hold a few real images.
    ``eval_*`` is held out from training and is what every stage's accuracy is measured on.
    """

    train_images: Sequence[np.ndarray] | np.ndarray
    train_labels: np.ndarray
    eval_images: Sequence[np.ndarray] | np.ndarray
    eval_labels: np.ndarray
    calib_images: Sequence[np.ndarray] | np.ndarray
    golden: list[GoldenSample] = field(default_factory=list)


@dataclass(frozen=True)
class Recipe:
    """Training hyper-parameters. Epoch counts of 0 skip the training part of a step.
    ``max_train`` limits the number of training images (None = all)."""

    teacher_epochs: int = 3
    distill_epochs: int = 3
    finetune_epochs: int = 2
    qat_epochs: int = 1
    batch_size: int = 64
    lr: float = 2e-3
    qat_lr: float = 2e-4
    temperature: float = 4.0
    alpha: float = 0.7
    prune_ratio: float = 0.5
    # latency budget (ms) for the build's device: when set, the prune ratio is searched with the calibrated
    # estimate (edgekit.stages.budget) instead of taken from prune_ratio
    prune_target_ms: float | None = None
    max_train: int | None = None
    calib_images: int = 256
    optimizer: str = "adam"  # adam | adamw | sgd
    schedule: str = "onecycle"  # onecycle | cosine | constant
    weight_decay: float = 0.0


class Example(abc.ABC):
    """A built-in example: data, preprocessing, models and a stage plan."""

    name: str = ""
    description: str = ""
    plan: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # caveats copied into manifest.extra["notes"] (e.g. "PTQ only")

    @property
    @abc.abstractmethod
    def spec(self) -> PreprocessSpec:
        """The preprocessing declaration written into the bundle manifest."""

    @property
    @abc.abstractmethod
    def labels(self) -> list[str]:
        """Class names, index = class id."""

    @abc.abstractmethod
    def load_data(self, fast: bool) -> ExampleData:
        """Load the data (offline). ``fast`` may return a smaller subset."""

    @abc.abstractmethod
    def teacher(self, profile: DeviceProfile) -> nn.Module:
        """The teacher model: untrained (plan has ``train_teacher``) or pretrained."""

    def student(self, profile: DeviceProfile, teacher: nn.Module) -> nn.Module | None:
        """The student to distill into, or None to deploy the teacher itself."""
        return None

    def recipe(self, fast: bool) -> Recipe:
        """Hyper-parameters; ``fast`` must make the whole build run in well under a minute."""
        return Recipe()

    def classifier(self, model: nn.Module) -> nn.Module | None:
        """The final classification layer, kept unpruned (default: the last nn.Linear)."""
        import torch.nn as nn

        last = None
        for m in model.modules():
            if isinstance(m, nn.Linear):
                last = m
        return last


def check_plan(plan: Sequence[str]) -> None:
    """Raise ValueError for an unknown or inconsistent plan."""
    for step in plan:
        if step not in PLAN_STEPS:
            raise ValueError(f"unknown plan step '{step}' (valid: {', '.join(PLAN_STEPS)})")
    if ("train_teacher" in plan) == ("pretrained_teacher" in plan):
        raise ValueError("a plan needs exactly one of 'train_teacher' or 'pretrained_teacher'")
    if "qat" in plan and "ptq" in plan:
        raise ValueError("a plan has 'qat' or 'ptq', not both")
    order = [PLAN_STEPS.index(s) if s != "pretrained_teacher" else 0 for s in plan]
    if order != sorted(order):
        raise ValueError(f"plan steps are out of order: {list(plan)}")
