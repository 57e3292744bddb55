"""Stage `prune`: structured channel pruning with torch-pruning's DepGraph (physically removes
channels; dependent layers shrink with them), L1 magnitude importance, channel counts rounded to
the profile's ``channel_round``, classifier kept; then fine-tuning."""

from __future__ import annotations

import time

import torch
import torch.nn as nn

from edgekit.stages.common import accuracy, example_input, seed_all, stats, train_epochs
from edgekit.stages.context import BuildContext, StageRecord
from edgekit.stages.distill import distill_loss


def prune_model(model: nn.Module, example: torch.Tensor, ratio: float, round_to: int,
                ignored: list[nn.Module]) -> nn.Module:
    """Prune ``model`` in place and return it."""
    import torch_pruning as tp

    model.eval()
    pruner = tp.pruner.BasePruner(
        model, example, importance=tp.importance.MagnitudeImportance(p=1), pruning_ratio=ratio,
        ignored_layers=ignored, round_to=round_to,
    )
    pruner.step()
    return model


def _budget_prune(ctx: BuildContext, model: nn.Module) -> nn.Module:
    """recipe.prune_target_ms: search the ratio with the estimate (edgekit.stages.budget); the result goes to
    ctx.extra["budget"] (then manifest.extra). An unreachable budget stops the build naming the lowest
    figure."""
    from edgekit.errors import ConfigError
    from edgekit.stages.budget import search

    assert ctx.x_eval is not None and ctx.y_eval is not None and ctx.recipe.prune_target_ms is not None
    x_eval, y_eval = ctx.x_eval, ctx.y_eval
    ex = example_input(ctx)

    def prune(m: nn.Module, ratio: float) -> nn.Module:
        cls = ctx.example.classifier(m)
        return prune_model(m, ex, ratio, ctx.profile.channel_round, [cls] if cls is not None else [])

    plan = getattr(ctx.example, "plan", ())
    precision = "fp32" if ctx.profile.kind == "cpu" else (
        "int8" if ctx.has_int8 and ("qat" in plan or "ptq" in plan) else "fp16")
    res, pruned = search(model, ex, ctx.profile, ctx.recipe.prune_target_ms, prune,
                         lambda m: accuracy(m, x_eval, y_eval), precision=precision)
    ctx.extra["budget"] = res.to_dict()
    if not res.met:
        raise ConfigError(res.message, "raise recipe.prune_target_ms to at least the lowest figure, "
            "or pick a "
                                       "smaller model / faster device")
    return pruned


def prune_stage(ctx: BuildContext) -> BuildContext:
    t0 = time.perf_counter()
    assert ctx.student is not None and ctx.x_eval is not None and ctx.y_eval is not None
    seed_all(ctx.seed + 3)
    model = ctx.student
    if ctx.recipe.prune_target_ms is not None:
        model = _budget_prune(ctx, model)
    else:
        cls = ctx.example.classifier(model)
        prune_model(model, example_input(ctx), ctx.recipe.prune_ratio, ctx.profile.channel_round,
                    [cls] if cls is not None else [])
    params, macs = stats(model, example_input(ctx))
    ctx.record(StageRecord("prune", "student", accuracy(model, ctx.x_eval, ctx.y_eval), params, macs, None,
                           time.perf_counter() - t0))
    t1 = time.perf_counter()
    train_epochs(ctx, model, ctx.recipe.finetune_epochs, ctx.recipe.lr / 2, "fine-tune",
                 loss_fn=distill_loss(ctx), seed_offset=3)
    ctx.student = model.eval()
    ctx.record(StageRecord("finetune", "student", accuracy(model, ctx.x_eval, ctx.y_eval), params, macs, None,
                           time.perf_counter() - t1))
    return ctx
