"""Seeded training is bit-reproducible (the basis of reproducible builds)."""

from pathlib import Path

import torch

from edgekit.examples import get_example
from edgekit.examples.digits import cnn
from edgekit.profiles import get_profile
from edgekit.stages.common import seed_all, train_epochs
from edgekit.stages.context import BuildContext
from edgekit.stages.progress import Reporter


def _train(digits, seed: int) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    xt, yt, _, _ = digits
    ex = get_example("digits")
    ctx = BuildContext(example=ex, profile=get_profile("cpu"), recipe=ex.recipe(True),
                       root=Path("/nonexistent"), reporter=Reporter(), seed=seed,
                       x_train=xt[:256], y_train=yt[:256])
    seed_all(seed)
    m = cnn((8, 8, 8))
    train_epochs(ctx, m, 1, 1e-3, "t")
    return m.state_dict()


def test_same_seed_same_weights_other_seed_other_weights(digits) -> None:  # type: ignore[no-untyped-def]
    a, b, c = _train(digits, 0), _train(digits, 0), _train(digits, 1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
