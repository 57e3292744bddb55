"""Shared helpers for the training stages: seeding, the epoch loop, evaluation, model statistics."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from edgekit.stages.context import BuildContext


def set_threads() -> None:
    n = int(os.environ.get("EDGEKIT_THREADS", "0")) or min(2, os.cpu_count() or 1)
    torch.set_num_threads(n)


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def train_step(ctx: BuildContext, model: nn.Module, stage: str, epochs: int, lr: float, *, kd: bool = False,
               seed_offset: int = 0) -> None:
    """Train ``model`` for ``epochs`` on the streamed training split (edgekit.train.loop.fit): the task's
    loss,
    or with ``kd`` and a distilled build, online KD from ``ctx.kd_teacher`` on each (augmented) batch. A
    checkpoint is written every epoch into the stage cache; ``ctx.resume`` continues from the last one."""
    if epochs <= 0:
        return
    from edgekit.build_record import FitRow
    from edgekit.project.task import get_task
    from edgekit.train.loop import FitConfig, fingerprint, fit

    assert ctx.splits is not None and ctx.splits.train is not None
    proj = ctx.example
    task = getattr(proj, "task", None) or get_task("classification")
    r = ctx.recipe
    cfg = FitConfig(epochs=epochs, lr=lr, batch_size=r.batch_size, optimizer=r.optimizer,  # type: ignore[arg-type]
                    schedule="none" if r.schedule == "constant" else r.schedule,  # type: ignore[arg-type]
                    weight_decay=r.weight_decay, num_workers=ctx.num_workers,
                    seed=ctx.seed * 1000 + seed_offset, amp=ctx.amp)
    teacher = ctx.kd_teacher if kd else None

    def kd_fn(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return task.kd_loss(s, t, y, r.temperature, r.alpha)

    key = ctx.keys.get(stage)
    ckpt = ctx.cache.ckpt_dir(stage, key) if ctx.cache is not None and key else None
    cfg_obj = getattr(proj, "cfg", None)
    fp = fingerprint(cfg_obj.model_dump(mode="json", exclude={"train"}) if cfg_obj is not None else proj.name,
                     list(proj.labels),
                     proj.spec)
    res = fit(model, ctx.splits.train, cfg, task.loss, device=ctx.train_device, ckpt_dir=ckpt,
              resume=ctx.resume, fingerprint=fp, teacher=teacher,
              kd_loss=kd_fn if teacher is not None else None,
              reporter=ctx.reporter, what=stage, bad=ctx.splits.bad)
    model.to("cpu")
    if teacher is not None:
        teacher.to("cpu")
    ctx.build.fits[stage] = FitRow(epochs=res.epochs_done, resumed_from_epoch=res.resumed_from_epoch,
                                   images=res.images, seconds=round(res.seconds, 2),
                                   images_per_s=round(res.images_per_s, 1), device=res.device, amp=res.amp,
                                   bad_images=res.bad_images)
    if res.resumed_from_epoch is not None:
        ctx.reporter.log(f"{stage}: resumed after epoch {res.resumed_from_epoch} of {epochs} ({ckpt})")


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, bs: int = 500) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + bs]) for i in range(0, len(x), bs)])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    if len(x) == 0:
        return float("nan")
    return round(float((predict(model, x).argmax(1) == y).float().mean()), 6)


def _task(ctx: BuildContext) -> Any:
    """The project's task object (edgekit/project/task.py)."""
    from edgekit.project.task import get_task

    return getattr(ctx.example, "task", None) or get_task("classification")


def eval_batch_size(ctx: BuildContext) -> int:
    """The batch size of every evaluation stream: the recipe's. Memory is bounded by batch size x workers
    (x the DataLoader's prefetch factor), so evaluation must not use a larger batch than the one the user
    sized for training: a fixed 128 (2x the default 64) made the eval streams the build's peak, reached only
    once the held-out split had enough batches to fill both workers' prefetch — it looked like growth with
    the dataset's size (issue 12's memory benchmark: 703 MB at 2,000 images, 1,022 MB at 20,000)."""
    return max(1, int(ctx.recipe.batch_size))


def eval_model(ctx: BuildContext, model: nn.Module) -> float:
    """The task's metric of a torch model over the streamed held-out split (edgekit.train.loop.predict)."""
    from edgekit.train.loop import predict

    assert ctx.splits is not None
    out, y = predict(model, ctx.splits.eval, batch_size=eval_batch_size(ctx), num_workers=ctx.num_workers,
                     bad=ctx.splits.bad)
    return float(_task(ctx).metric(out, y))


def eval_onnx(ctx: BuildContext, path: Path) -> float:
    """The same metric of an ONNX model in ONNX Runtime, streamed batch by batch."""
    figures = eval_onnx_metrics(ctx, path)
    return float(figures[_task(ctx).metric_name()])


def eval_onnx_metrics(ctx: BuildContext, path: Path) -> dict[str, float]:
    """Every figure of the task's metric (``task.metrics``) of an ONNX model in ONNX Runtime."""
    from edgekit.data.engine import EVAL_PREFETCH, make_loader
    from edgekit.stages.onnx_utils import ort_session

    assert ctx.splits is not None
    sess = ort_session(path)
    name = sess.get_inputs()[0].name
    outs, ys = [], []
    for x, y in make_loader(ctx.splits.eval, eval_batch_size(ctx), ctx.num_workers, bad=ctx.splits.bad,
                            prefetch=EVAL_PREFETCH):
        outs.append(torch.from_numpy(sess.run(None, {name: x.numpy()})[0]))
        ys.append(y)
        del x, y  # not held while the stream fetches the next batch
    if not outs:
        from edgekit.errors import EdgekitError

        raise EdgekitError(f"no held-out image decoded to evaluate {path.name}",
                           "give data a val split with images")
    return {k: float(v) for k, v in _task(ctx).metrics(torch.cat(outs), torch.cat(ys)).items()}


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
