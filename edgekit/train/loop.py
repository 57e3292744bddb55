"""The one training loop (teacher, distill, fine-tune, QAT): streamed batches, a device, AMP on CUDA,
a checkpoint every epoch and resume from the last completed epoch.

A checkpoint (``ckpt_dir/last.pt``, written to a temporary file then renamed) holds the model, optimizer,
scheduler and AMP scaler states, the number of completed epochs, torch's RNG states and a fingerprint of
what the run depends on (config, labels, spec, and the fit settings). Data order and augmentation are
seeded per epoch (edgekit.data.engine.Stream), so a resumed run draws the same batches as an uninterrupted
one and, on the CPU with fixed seeds, ends with the same weights. A resume whose fingerprint changed is
refused. Checkpoints live in the build cache (the stage's work folder), never in the output bundle.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn as nn

from edgekit.data.engine import EVAL_PREFETCH, BadImages, Stream, StreamDataset, make_loader
from edgekit.errors import EdgekitError
from edgekit.preprocess.spec import PreprocessSpec

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, labels) -> loss
KDLossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (student, teacher, labels)
CKPT_NAME = "last.pt"
CKPT_FORMAT = 1


class ResumeError(EdgekitError):
    """A checkpoint that cannot be resumed: other inputs, or unreadable."""


@dataclass(frozen=True)
class FitConfig:
    epochs: int
    lr: float
    batch_size: int = 64
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    schedule: Literal["onecycle", "cosine", "none"] = "onecycle"
    weight_decay: float = 0.0
    momentum: float = 0.9
    num_workers: int = 0
    seed: int = 0
    amp: bool = True  # used on CUDA only

    def math_fields(self) -> dict[str, Any]:
        """What changes the trained weights (not num_workers)."""
        d = dataclasses.asdict(self)
        d.pop("num_workers")
        return d


@dataclass
class FitResult:
    epochs_done: int
    resumed_from_epoch: int | None  # completed epochs found in the checkpoint, None = fresh start
    losses: list[float] = field(default_factory=list)  # mean loss of each epoch run now
    seconds: float = 0.0
    images: int = 0
    images_per_s: float = 0.0
    bad_images: int = 0
    device: str = "cpu"
    amp: bool = False


def _sha(obj: Any) -> str:
    if isinstance(obj, bytes):
        blob = obj
    elif isinstance(obj, str):
        blob = obj.encode()
    else:
        if hasattr(obj, "model_dump"):
            obj = obj.model_dump(mode="json")
        blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def fingerprint(config: Any, labels: list[str], spec: PreprocessSpec) -> dict[str, str]:
    """A stable sha256 per part of what a training run depends on."""
    return {"config": _sha(config), "labels": _sha(list(labels)), "spec": spec.sha256()}


def _optimizer(model: nn.Module, cfg: FitConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _scheduler(opt: torch.optim.Optimizer, cfg: FitConfig, steps: int) -> Any:
    if cfg.schedule == "none" or steps <= 1:
        return None
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.15)


def _save(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load(path: Path) -> dict[str, Any]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ResumeError(f"checkpoint {path} is unreadable ({type(exc).__name__})",
                          "delete it and build without --resume") from exc
    if not isinstance(obj, dict) or obj.get("format") != CKPT_FORMAT:
        raise ResumeError(f"checkpoint {path} is not an edgekit training checkpoint",
                          "delete it and build without --resume")
    return obj


def _check_fingerprint(path: Path, saved: dict[str, str], now: dict[str, str]) -> None:
    changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if changed:
        raise ResumeError(
            f"cannot resume from {path}: the {', '.join(changed)} changed since the checkpoint was written",
            "build without --resume (a fresh start), or restore the previous " + "/".join(changed),
        )


def fit(
    model: nn.Module,
    train: StreamDataset | Stream,
    cfg: FitConfig,
    loss_fn: LossFn,
    *,
    device: torch.device | None = None,
    ckpt_dir: Path | None = None,
    resume: bool = False,
    fingerprint: dict[str, str] | None = None,
    teacher: nn.Module | None = None,
    kd_loss: KDLossFn | None = None,
    reporter: Any = None,
    what: str = "train",
    bad: BadImages | None = None,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Train ``model`` in place for ``cfg.epochs`` epochs over the streamed ``train`` split.

    With ``teacher`` and ``kd_loss``, distillation is online: the teacher runs on each (augmented) batch
    and the loss is ``kd_loss(student_logits, teacher_logits, labels)``. ``on_epoch_end(epochs_done,
    mean_loss)`` runs after each epoch's checkpoint is written."""
    device = device or torch.device("cpu")
    if (teacher is None) != (kd_loss is None):
        raise ValueError("fit: give both teacher and kd_loss, or neither")
    stream = train if isinstance(train, Stream) else make_loader(
        train, cfg.batch_size, cfg.num_workers, shuffle=True, seed=cfg.seed, bad=bad)
    fp = dict(fingerprint or {})
    fp["fit"] = _sha(cfg.math_fields())
    use_amp = bool(cfg.amp and device.type == "cuda")
    res = FitResult(0, None, device=str(device), amp=use_amp)
    if cfg.epochs <= 0:
        return res
    model.to(device)
    if teacher is not None:
        teacher.to(device).eval()
    opt = _optimizer(model, cfg)
    sched = _scheduler(opt, cfg, cfg.epochs * len(stream))
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    ckpt = ckpt_dir / CKPT_NAME if ckpt_dir is not None else None
    start = 0
    if ckpt is not None and resume and ckpt.is_file():
        state = _load(ckpt)
        _check_fingerprint(ckpt, state.get("fingerprint", {}), fp)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if sched is not None and state.get("scheduler") is not None:
            sched.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler") is not None:
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and state.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(state["rng_cuda"], device)
        start = int(state["epoch"])
        res.resumed_from_epoch = start
    t0 = time.perf_counter()
    t_ep = reporter.task(f"{what}: epochs", cfg.epochs) if reporter is not None else None
    if t_ep is not None and start:
        reporter.advance(t_ep, start, info=f"resumed after epoch {start}")
    autocast = (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp else contextlib.nullcontext
    for ep in range(start, cfg.epochs):
        model.train()
        total, nb = 0.0, 0
        t_b = reporter.task(f"{what}: epoch {ep + 1} batches", len(stream)) if reporter is not None else None
        for x, y in stream.epoch(ep):
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            with autocast():
                logits = model(x)
                if teacher is not None and kd_loss is not None:
                    with torch.no_grad():
                        t_logits = teacher(x)
                    loss = kd_loss(logits.float(), t_logits.float(), y)
                else:
                    loss = loss_fn(logits.float(), y)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            if sched is not None:
                sched.step()
            total += float(loss.detach())
            nb += 1
            res.images += len(y)
            del x, y, logits, loss  # this batch is not held while the stream fetches the next
            if t_b is not None:
                reporter.advance(t_b, info=f"loss {total / nb:.4f}")
        if t_b is not None:
            reporter.finish(t_b)
        mean = total / max(1, nb)
        res.losses.append(mean)
        res.epochs_done = ep + 1
        if ckpt is not None:
            _save(ckpt, {
                "format": CKPT_FORMAT, "epoch": ep + 1, "epochs": cfg.epochs, "fingerprint": fp,
                "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict() if sched is not None else None,
                "scaler": scaler.state_dict() if scaler is not None else None,
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "loss": mean,
            })
        if t_ep is not None:
            reporter.advance(t_ep, info=f"loss {mean:.4f}")
        if on_epoch_end is not None:
            on_epoch_end(ep + 1, mean)
    if t_ep is not None:
        reporter.finish(t_ep)
    res.epochs_done = max(res.epochs_done, start)
    res.seconds = time.perf_counter() - t0
    res.images_per_s = res.images / res.seconds if res.seconds > 0 else 0.0
    res.bad_images = stream.bad.count
    model.eval()
    return res


# -- streamed evaluation ---------------------------------------------------------------------------
@dataclass
class EvalResult:
    accuracy: float
    n: int
    bad: int


@torch.no_grad()
def predict(model: nn.Module, ds: StreamDataset | Stream, *, batch_size: int = 128, num_workers: int = 0,
            device: torch.device | None = None,
            bad: BadImages | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, labels) over a streamed split, in order."""
    device = device or torch.device("cpu")
    stream = ds if isinstance(ds, Stream) else make_loader(ds, batch_size, num_workers, bad=bad,
                                                           prefetch=EVAL_PREFETCH)
    model.eval().to(device)
    outs, ys = [], []
    for x, y in stream:
        outs.append(model(x.to(device)).float().cpu())
        ys.append(y)
        del x, y  # not held while the stream fetches the next batch
    if not outs:
        raise EdgekitError(f"split '{stream.ds.name}' gave no decodable item to evaluate",
                           "give it real images (a comparison over zero items fails)")
    return torch.cat(outs), torch.cat(ys)


def evaluate(model: nn.Module, ds: StreamDataset | Stream, *, batch_size: int = 128, num_workers: int = 0,
             device: torch.device | None = None, bad: BadImages | None = None) -> EvalResult:
    stream = ds if isinstance(ds, Stream) else make_loader(ds, batch_size, num_workers, bad=bad,
                                                           prefetch=EVAL_PREFETCH)
    logits, y = predict(model, stream, device=device)
    return EvalResult(round(float((logits.argmax(1) == y).float().mean()), 6), len(y), stream.bad.count)
