"""Stage `data`: the project's splits from the data engine (edgekit/data/engine.py ``build_splits``).

Training streams: items are decoded, augmented and put through ``edgekit.preprocess`` in DataLoader workers
(the training stages call ``edgekit.train.loop.fit`` on ``ctx.splits.train``). Evaluation streams too
(``eval_model``/``eval_onnx`` in stages/common.py); only the calibration set, bounded by its count, is drawn
into one array (``x_calib``) for fake-quant and INT8 calibration."""

from __future__ import annotations

import time

import numpy as np

from edgekit.build_record import DataCounts
from edgekit.errors import ConfigError
from edgekit.stages.context import BuildContext


def _needs_train(ctx: BuildContext) -> bool:
    plan = ctx.example.plan
    r = ctx.recipe
    return ("train_teacher" in plan and r.teacher_epochs > 0 and ctx.teacher_ckpt is None) or (
        "distill" in plan and r.distill_epochs > 0) or ("qat" in plan and r.qat_epochs > 0) or (
        "prune" in plan and r.finetune_epochs > 0)


def load_data(ctx: BuildContext) -> BuildContext:
    from edgekit.data.engine import build_splits, calib_array

    t0 = time.perf_counter()
    proj = ctx.example
    cfg = proj.cfg  # type: ignore[attr-defined]
    cache_dir = ctx.cache.root / "data" if ctx.cache is not None else None
    splits = build_splits(cfg.data, proj.base, proj.spec, cfg.augment, seed=ctx.seed,  # type: ignore[attr-defined]
                          fast=ctx.fast, cache_dir=cache_dir, fast_count=ctx.recipe.max_train or 256)
    if _needs_train(ctx) and (splits.train is None or len(splits.train) == 0):
        raise ConfigError(f"project '{proj.name}' has no training images but its recipe trains "
                          f"(steps {list(proj.plan)})",
                          "give data a train split, or use pretrained: true with recipe.steps [ptq]")
    ctx.splits = splits
    for line in splits.box_skip_lines():  # detection: what the readers clipped or skipped, and why
        ctx.reporter.log(f"data: {line}")
    if len(splits.eval) == 0:
        raise ConfigError(f"project '{proj.name}' has no evaluation images", "give data a val split")
    t = ctx.reporter.task("preprocess (spec): calibration", 1)
    calib = calib_array(splits, ctx.recipe.calib_images, num_workers=ctx.num_workers)
    ctx.x_calib = np.ascontiguousarray(calib)
    ctx.reporter.advance(t)
    ctx.reporter.finish(t)
    if len(ctx.x_calib) == 0:
        raise ConfigError(f"project '{proj.name}' has no calibration images",
                          "give data.calibration real images")
    ctx.golden_samples = list(splits.golden)
    ctx.build.data = DataCounts(train=len(splits.train) if splits.train is not None else 0,
                                eval=len(splits.eval), calib=len(ctx.x_calib), golden=len(splits.golden),
                                bad_images=splits.bad.count,
                                preprocess_seconds=round(time.perf_counter() - t0, 2))
    return ctx
