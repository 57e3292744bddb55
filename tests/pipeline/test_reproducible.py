"""Seeded training through the stages' training step (the streamed splits + edgekit.train.loop.fit) is
bit-reproducible (the basis of reproducible builds), and the seed matters."""

from pathlib import Path

import torch

from edgekit.data.engine import build_splits
from edgekit.examples import get_example
from edgekit.examples.digits import cnn
from edgekit.profiles import get_profile
from edgekit.stages.common import seed_all, train_step
from edgekit.stages.context import BuildContext
from edgekit.stages.progress import Reporter


def _train(seed: int) -> dict[str, torch.Tensor]:
    ex = get_example("digits")
    ctx = BuildContext(example=ex, profile=get_profile("cpu"), recipe=ex.recipe(True),
                       root=Path("/nonexistent"), reporter=Reporter(), seed=seed)
    ctx.splits = build_splits(ex.cfg.data, ex.base, ex.spec, None, seed=0, fast=True,  # type: ignore[attr-defined]
                              fast_count=256)
    seed_all(seed)
    m = cnn((8, 8, 8))
    train_step(ctx, m, "t", 1, 1e-3)
    assert ctx.build.fits["t"].images == 256
    return m.state_dict()


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    a, b, c = _train(0), _train(0), _train(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
