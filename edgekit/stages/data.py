"""Stage `data`: load the example's data and preprocess it through the example's spec (cached)."""

from __future__ import annotations

import time

import numpy as np
import torch

from edgekit.data.cache import preprocess_cached
from edgekit.errors import ConfigError
from edgekit.stages.context import BuildContext


def _subset(n: int, k: int | None, seed: int) -> np.ndarray:
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:k])


def load_data(ctx: BuildContext) -> BuildContext:
    t0 = time.perf_counter()
    data = ctx.example.load_data(ctx.fast)
    spec = ctx.example.spec
    needs_train = any(s in ctx.example.plan for s in ("train_teacher", "distill", "qat")) or (
        "prune" in ctx.example.plan and ctx.recipe.finetune_epochs > 0
    )
    if needs_train and len(data.train_images) == 0:
        raise ConfigError(
            f"example '{ctx.example.name}' has no training images but its plan "
            f"{list(ctx.example.plan)} trains",
            "use a plan with 'pretrained_teacher' and 'ptq' only",
        )
    if len(data.eval_images) == 0:
        raise ConfigError(f"example '{ctx.example.name}' has no evaluation images", "give it a held-out set")
    ctx.data = data
    sel = _subset(len(data.train_images), ctx.recipe.max_train, ctx.seed)
    train_imgs = [data.train_images[i] for i in sel] if len(data.train_images) else []
    t = ctx.reporter.task("preprocess (spec)", 3)
    ctx.x_train = torch.from_numpy(preprocess_cached(spec, train_imgs))
    ctx.y_train = torch.as_tensor(np.asarray(data.train_labels)[sel] if len(sel) else [], dtype=torch.int64)
    ctx.reporter.advance(t)
    ctx.x_eval = torch.from_numpy(preprocess_cached(spec, data.eval_images))
    ctx.y_eval = torch.as_tensor(np.asarray(data.eval_labels), dtype=torch.int64)
    ctx.reporter.advance(t)
    calib = data.calib_images
    k = min(ctx.recipe.calib_images, len(calib))
    ctx.x_calib = preprocess_cached(spec, [calib[i] for i in range(k)])
    ctx.reporter.advance(t)
    ctx.reporter.finish(t)
    if len(ctx.x_calib) == 0:
        raise ConfigError(f"example '{ctx.example.name}' has no calibration images",
                          "give it a few real images")
    ctx.extra["data"] = {
        "train": len(ctx.x_train), "eval": len(ctx.x_eval), "calib": len(ctx.x_calib),
        "preprocess_seconds": round(time.perf_counter() - t0, 2),
    }
    return ctx
