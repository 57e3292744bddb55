"""Shared helpers for the training stages: seeding, the epoch loop, evaluation, model statistics."""

from __future__ import annotations

import os
import random
from collections.abc import Callable

import numpy as np
import torch
import torch.nn as nn

from edgekit.stages.context import BuildContext

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, labels, idx) -> loss


def set_threads() -> None:
    n = int(os.environ.get("EDGEKIT_THREADS", "0")) or min(2, os.cpu_count() or 1)
    torch.set_num_threads(n)


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def ce_loss(logits: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(logits, labels)


def train_epochs(
    ctx: BuildContext, model: nn.Module, epochs: int, lr: float, what: str, loss_fn: LossFn = ce_loss,
    seed_offset: int = 0,
) -> None:
    """Adam + cosine schedule over ``epochs`` on ``ctx.x_train``; seeded shuffling; progress bars."""
    if epochs <= 0:
        return
    assert ctx.x_train is not None and ctx.y_train is not None
    x, y = ctx.x_train, ctx.y_train
    bs = ctx.recipe.batch_size
    n_batches = (len(x) + bs - 1) // bs
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * n_batches, pct_start=0.15
    ) if epochs * n_batches > 1 else None
    gen = torch.Generator().manual_seed(ctx.seed * 1000 + seed_offset)
    t_ep = ctx.reporter.task(f"{what}: epochs", epochs)
    for ep in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        t_b = ctx.reporter.task(f"{what}: epoch {ep + 1} batches", n_batches)
        total = 0.0
        for b in range(n_batches):
            idx = order[b * bs : (b + 1) * bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx], idx)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += float(loss.detach())
            ctx.reporter.advance(t_b, info=f"loss {total / (b + 1):.4f}")
        ctx.reporter.finish(t_b)
        ctx.reporter.advance(t_ep, info=f"loss {total / n_batches:.4f}")
    ctx.reporter.finish(t_ep)
    model.eval()


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, bs: int = 500) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + bs]) for i in range(0, len(x), bs)])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    if len(x) == 0:
        return float("nan")
    return round(float((predict(model, x).argmax(1) == y).float().mean()), 6)


def stats(model: nn.Module, example_input: torch.Tensor) -> tuple[int, int]:
    """(params, MACs) by torch-pruning's counter."""
    import torch_pruning as tp

    was_training = model.training
    model.eval()
    macs, params = tp.utils.count_ops_and_params(model, example_input[:1])
    model.train(was_training)
    return int(params), int(macs)


def example_input(ctx: BuildContext) -> torch.Tensor:
    return torch.zeros(ctx.example.spec.input_shape())
