"""Stage `prune`: structured channel pruning with torch-pruning's DepGraph (physically removes
channels; dependent layers shrink with them), L1 magnitude importance, channel counts rounded to
the profile's ``channel_round``, classifier kept; then fine-tuning."""

from __future__ import annotations

import time

import torch
import torch.nn as nn

from edgekit.stages.common import eval_model, example_input, seed_all, stats, train_step
from edgekit.stages.context import BuildContext, StageRecord


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


def ignored_layers(ctx: BuildContext, model: nn.Module) -> list[nn.Module]:
    """The modules kept whole: the project's classifier + ``prune.ignore`` (edgekit/project/project.py)."""
    fn = getattr(ctx.example, "prune_ignored", None)
    if fn is not None:
        return list(fn(model))
    cls = ctx.example.classifier(model)
    return [cls] if cls is not None else []


def _budget_prune(ctx: BuildContext, model: nn.Module) -> nn.Module:
    """recipe.prune_target_ms: search the ratio with the estimate (edgekit.stages.budget); the result goes to
    ctx.extra["budget"] (then manifest.extra). An unreachable budget stops the build naming the lowest
    figure."""
    from edgekit.errors import ConfigError
    from edgekit.stages.budget import search

    assert ctx.recipe.prune_target_ms is not None
    ex = example_input(ctx)

    def prune(m: nn.Module, ratio: float) -> nn.Module:
        return prune_model(m, ex, ratio, ctx.profile.channel_round, ignored_layers(ctx, m))

    plan = getattr(ctx.example, "plan", ())
    precision = "fp32" if ctx.profile.kind == "cpu" else (
        "int8" if ctx.has_int8 and ("qat" in plan or "ptq" in plan) else "fp16")
    res, pruned = search(model, ex, ctx.profile, ctx.recipe.prune_target_ms, prune,
                         lambda m: eval_model(ctx, m), precision=precision)
    ctx.extra["budget"] = res.to_dict()
    if not res.met:
        raise ConfigError(res.message, "raise recipe.prune_target_ms to at least the lowest figure, "
                                       "or pick a smaller model / faster device")
    return pruned


def prune_stage(ctx: BuildContext) -> BuildContext:
    import torch_pruning as tp

    from edgekit.stages.reuse import key_for, lookup, records_of, store

    t0 = time.perf_counter()
    assert ctx.student is not None
    seed_all(ctx.seed + 3)
    model = ctx.student
    key = key_for(ctx, "prune", ctx.keys.get("distill") or ctx.keys.get("teacher"))
    hit = lookup(ctx, "prune", key)
    if hit is not None:
        tp.load_state_dict(model, state_dict=hit["state"])
        ctx.student = model.eval()
        for rec in records_of(hit):
            ctx.record(rec)
        return ctx
    if ctx.recipe.prune_target_ms is not None:
        model = _budget_prune(ctx, model)
    else:
        prune_model(model, example_input(ctx), ctx.recipe.prune_ratio, ctx.profile.channel_round,
                    ignored_layers(ctx, model))
    params, macs = stats(model, example_input(ctx))
    rec1 = StageRecord("prune", "student", eval_model(ctx, model), params, macs, None,
                       time.perf_counter() - t0)
    ctx.record(rec1)
    t1 = time.perf_counter()
    train_step(ctx, model, "prune", ctx.recipe.finetune_epochs, ctx.recipe.lr / 2, kd=True, seed_offset=3)
    ctx.student = model.eval()
    rec2 = StageRecord("finetune", "student", eval_model(ctx, model), params, macs, None,
                       time.perf_counter() - t1)
    ctx.record(rec2)
    store(ctx, "prune", key, tp.state_dict(model), [rec1, rec2])
    return ctx
