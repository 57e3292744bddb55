"""Stage `teacher`: train the teacher from scratch, load a given checkpoint, or take it pretrained."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import torch
import torch.nn as nn

from edgekit.errors import ConfigError, EdgekitError
from edgekit.stages.common import eval_model, example_input, seed_all, stats, train_step
from edgekit.stages.context import BuildContext, StageRecord


class CheckpointError(EdgekitError):
    """A teacher checkpoint that is missing, unreadable or does not fit the teacher."""


def load_checkpoint(model: nn.Module, path: Path) -> None:
    """Load a state dict (or {"state_dict": ...}) saved with torch.save into ``model``."""
    if not path.is_file():
        raise CheckpointError(f"teacher checkpoint {path} does not exist",
                              "pass an existing file to --teacher")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, zipfile.BadZipFile, Exception) as exc:
        raise CheckpointError(
            f"teacher checkpoint {path} is corrupt or not a torch state dict ({type(exc).__name__})",
            "pass a file written by torch.save(model.state_dict()), "
            "e.g. BUNDLE/reference/teacher_state_dict.pt",
        ) from exc
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"teacher checkpoint {path} holds no state dict", "save model.state_dict()")
    try:
        model.load_state_dict(obj, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "mismatch"
        raise CheckpointError(
            f"teacher checkpoint {path} does not fit this example's teacher: {first}",
            "pass a checkpoint of the same example's teacher",
        ) from exc


def teacher_stage(ctx: BuildContext) -> BuildContext:
    from edgekit.stages.reuse import key_for, lookup, records_of, store

    t0 = time.perf_counter()
    seed_all(ctx.seed)
    model = ctx.example.teacher(ctx.profile)
    plan = ctx.example.plan
    key = key_for(ctx, "teacher", None)
    hit = lookup(ctx, "teacher", key) if "train_teacher" in plan and ctx.teacher_ckpt is None else None
    if hit is not None:
        model.load_state_dict(hit["state"])
        model.eval()
        ctx.teacher = model
        ctx.build.teacher_source = hit.get("how", "trained")
        for rec in records_of(hit):
            ctx.record(rec)
        return ctx
    if ctx.teacher_ckpt is not None:
        load_checkpoint(model, ctx.teacher_ckpt)
        how = "checkpoint"
    elif "train_teacher" in plan:
        train_step(ctx, model, "teacher", ctx.recipe.teacher_epochs, ctx.recipe.lr, seed_offset=1)
        how = "trained"
    elif "pretrained_teacher" in plan:
        how = "pretrained"
    else:  # pragma: no cover - check_plan forbids it
        raise ConfigError("the example plan has no teacher step", "fix the example")
    model.eval()
    ctx.teacher = model
    params, macs = stats(model, example_input(ctx))
    ctx.build.teacher_source = how  # type: ignore[assignment]
    rec = StageRecord("teacher", "teacher_fp32", eval_model(ctx, model), params, macs,
                      None, time.perf_counter() - t0)
    ctx.record(rec)
    if how == "trained":
        store(ctx, "teacher", key, model.state_dict(), [rec], how=how)
    return ctx
