"""Issue 12: memory is bounded by batch size x workers, not by the dataset's size. Evaluation streams in the
recipe's batch size (a fixed, larger eval batch made the eval streams the build's memory peak, which showed
as growth with the dataset size in the whole-build benchmark)."""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from edgekit.data.engine import EVAL_PREFETCH, Stream, build_splits
from edgekit.examples.base import Recipe
from edgekit.profiles import get_profile
from edgekit.stages.common import eval_model, eval_onnx
from edgekit.stages.context import BuildContext
from edgekit.stages.onnx_utils import export_onnx
from edgekit.stages.progress import Reporter

from .test_engine import _cfg, _folder
from .test_sources import spec


def test_eval_streams_never_exceed_the_recipe_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _folder(tmp_path)  # 12 train, 4 val images
    (tmp_path / "d" / "val").rename(tmp_path / "d" / "val_small")
    (tmp_path / "d" / "train").rename(tmp_path / "d" / "val")  # a held-out split bigger than the batch
    from .realimages import write_folder

    write_folder(tmp_path / "d" / "train", ["a", "b"], 2, ext=".jpg", seed=2)
    s = build_splits(_cfg(), tmp_path, spec())
    assert len(s.eval) == 12
    batches: list[int] = []
    real_epoch = Stream.epoch

    prefetch: list[int] = []

    def spy(self: Stream, e: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        prefetch.append(self.prefetch)
        for x, y in real_epoch(self, e):
            batches.append(len(y))
            yield x, y

    monkeypatch.setattr(Stream, "epoch", spy)
    ctx = BuildContext(example=types.SimpleNamespace(), profile=get_profile("cpu"),  # type: ignore[arg-type]
                       recipe=Recipe(batch_size=5), root=tmp_path, reporter=Reporter())
    ctx.splits = s
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)).eval()
    acc = eval_model(ctx, model)
    assert 0.0 <= acc <= 1.0
    assert batches == [5, 5, 2], batches  # every item, in batches of the recipe's size
    onnx_path = tmp_path / "m.onnx"
    export_onnx(model, onnx_path, torch.zeros(1, 3, 32, 32), 17)
    batches.clear()
    assert eval_onnx(ctx, onnx_path) == pytest.approx(acc, abs=1e-6)
    assert batches == [5, 5, 2], batches
    # one ready batch per worker in evaluation (training keeps the DataLoader's 2 for its speed)
    assert prefetch == [EVAL_PREFETCH, EVAL_PREFETCH] and EVAL_PREFETCH == 1
