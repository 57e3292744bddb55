"""Stage `reference`: PyTorch reference models the parity checker can run without edgekit's classes.

Each model is saved with ``torch.export.save`` (``reference/<id>.pt2``, dynamic batch) when
torch.export can trace it, else as TorchScript (``reference/<id>.ts``, ``torch.jit.trace``): the
fake-quant student needs TorchScript because torch.export has no fake (meta) kernel for
``fake_quantize_per_tensor_affine`` in torch 2.13. ``manifest.extra["references"]`` says which.
Load with ``torch.export.load(p).module()`` or ``torch.jit.load(p)``; input = the preprocessed tensor.
A teacher trained by this build is also saved as ``reference/teacher_state_dict.pt`` (for --teacher).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn as nn

from edgekit.stages.common import example_input
from edgekit.stages.context import BuildContext


def save_reference(model: nn.Module, example: torch.Tensor, stem: Path) -> tuple[Path, str]:
    """Save ``model`` as ``stem.pt2`` (torch.export) or ``stem.ts`` (TorchScript); return (path, format)."""
    model.eval()
    x = example.expand(2, *example.shape[1:]).contiguous()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            batch = torch.export.Dim("batch", min=1, max=4096)
            ep = torch.export.export(model, (x,), dynamic_shapes=({0: batch},))
            path = stem.with_suffix(".pt2")
            torch.export.save(ep, str(path))
            return path, "torch.export"
        except Exception:
            pass
        with torch.no_grad():
            ts = torch.jit.trace(model, x, check_trace=False)
        path = stem.with_suffix(".ts")
        torch.jit.save(ts, str(path))
        return path, "torchscript"


def reference_stage(ctx: BuildContext) -> BuildContext:
    rdir = ctx.root / "reference"
    rdir.mkdir(exist_ok=True)
    ex = example_input(ctx)
    refs: dict[str, dict[str, str]] = {}
    for model_id, model in ctx.torch_models.items():
        path, fmt = save_reference(model, ex, rdir / model_id)
        rel = path.relative_to(ctx.root).as_posix()
        ctx.references[model_id] = rel
        refs[model_id] = {"file": rel, "format": fmt}
    if ctx.teacher is not None and ctx.build.teacher_source in ("trained", "reused"):
        torch.save(ctx.teacher.state_dict(), rdir / "teacher_state_dict.pt")
    ctx.extra["references"] = refs
    return ctx
