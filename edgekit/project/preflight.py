"""Preflight: the checks that fail a build in one line, before any training time is spent.

1. each model factory imports and returns an nn.Module (edgekit/project/factory.py);
2. the input channels of the model's first convolution match the spec's;
3. a forward at the spec's input shape gives what the task wants ([N, classes] for classification);
4. the ONNX export at the profile's opset works;
5. when the recipe prunes: torch-pruning's dependency graph builds and one pruning step leaves a model that
   still runs; if not, the error names the module to put in ``prune.ignore``.
"""

from __future__ import annotations

import copy
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from edgekit.project.project import Project

BATCH = 2


@dataclass
class PreflightResult:
    checks: list[str] = field(default_factory=list)  # names of the checks that ran and passed


def _first_conv(model: nn.Module) -> tuple[str, nn.Module] | None:
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d):
            return name, m
    return None


def check_model(proj: Project, model: nn.Module, which: str, opset: int, res: PreflightResult) -> None:
    key = f"model.{which}"
    spec = proj.spec
    shape = spec.input_shape()
    chans = shape[1] if spec.steps[-1].to == "NCHW" else shape[3]  # type: ignore[union-attr]
    conv = _first_conv(model)
    if conv is not None and conv[1].in_channels != chans:  # type: ignore[union-attr]
        raise proj.error(
            key,
            f"the first convolution '{conv[0]}' takes {conv[1].in_channels} input channels "
            f"but the preprocess spec gives {chans}",
            "make the model's first layer match, or change preprocess (decode color gray|bgr)",
        )
    res.checks.append(f"{which}: input channels {chans}")
    x = torch.zeros([BATCH, *shape[1:]])
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as exc:
        raise proj.error(
            key,
            f"a forward at the spec's input shape {[BATCH, *shape[1:]]} failed: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            "make the model accept the preprocess output (see preprocess.steps)",
        ) from exc
    bad = proj.task.check_output(out, BATCH, len(proj.labels))
    if bad is not None:
        raise proj.error(
            key,
            f"a forward at {[BATCH, *shape[1:]]} {bad} ({len(proj.labels)} labels)",
            f"give the model {len(proj.labels)} outputs (e.g. the factory's classes kwarg)",
        )
    res.checks.append(f"{which}: forward -> [{BATCH}, {len(proj.labels)}]")
    from edgekit.stages.onnx_utils import export_onnx

    with tempfile.TemporaryDirectory(prefix="edgekit-preflight-") as tmp:
        try:
            export_onnx(copy.deepcopy(model), Path(tmp) / "m.onnx", x[:1], opset, proj.task.output_names())
        except Exception as exc:
            raise proj.error(
                key,
                f"ONNX export at opset {opset} failed: {type(exc).__name__}: "
                f"{(str(exc).strip().splitlines() or [''])[0][:200]}",
                "replace the layer the exporter names with ONNX-exportable ops",
            ) from exc
    res.checks.append(f"{which}: ONNX export at opset {opset}")


class _PruneFailure(Exception):
    def __init__(self, exc: BaseException, at: str | None) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.at = at


def _prune_once(
    model: nn.Module, x: torch.Tensor, ignored_names: list[str], ratio: float, round_to: int
) -> None:
    """Prune a copy of ``model`` once and run it; a failure names the module whose forward raised."""
    from edgekit.stages.prune import prune_model

    m = copy.deepcopy(model)
    mods = dict(m.named_modules())
    try:
        prune_model(m, x, ratio, round_to, [mods[n] for n in ignored_names])
        with torch.no_grad():
            m(x)
    except Exception as exc:
        raise _PruneFailure(exc, _culprit(exc, m)) from exc


def _culprit(exc: BaseException, model: nn.Module) -> str | None:
    """The deepest module of ``model`` whose forward is on the traceback."""
    names = {id(m): n for n, m in model.named_modules() if n}
    found = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        obj = frame.f_locals.get("self")
        if obj is not None and id(obj) in names:
            found = names[id(obj)]
    return found


def check_prune(proj: Project, model: nn.Module, ratio: float, round_to: int, res: PreflightResult) -> None:
    x = torch.zeros(proj.spec.input_shape())
    names = {id(m): n for n, m in model.named_modules()}
    ignored = [names[id(m)] for m in proj.prune_ignored(model)]
    ratio = max(ratio, 0.1)
    try:
        _prune_once(model, x, ignored, ratio, round_to)
        res.checks.append("prune: dependency graph builds")
        return
    except _PruneFailure as f:
        first = f
    # The fix: the first module with parameters (nearest before the failing one) whose exclusion works.
    order = [
        n
        for n, m in model.named_modules()
        if n and n not in ignored and any(True for _ in m.parameters(recurse=False))
    ]
    if first.at is not None:
        before = [n for n in order if list(names.values()).index(n) <= list(names.values()).index(first.at)]
        order = before[::-1] + [n for n in order if n not in before]
    fix = None
    for n in order[:64]:
        try:
            _prune_once(model, x, [*ignored, n], ratio, round_to)
        except _PruneFailure:
            continue
        fix = n
        break
    exc = first.exc
    what = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:160]}"
    at = (
        f" at module '{first.at}' ({type(dict(model.named_modules())[first.at]).__name__})"
        if first.at
        else ""
    )
    if fix is None:
        raise proj.error(
            "prune.ignore",
            f"torch-pruning cannot prune this model{at}: {what}",
            "drop 'prune' from recipe.steps, or list the layers feeding that module in prune.ignore",
        )
    raise proj.error("prune.ignore", f"pruning breaks the model{at}: {what}", f"add '{fix}' to prune.ignore")


def preflight(proj: Project, opset: int, round_to: int, ratio: float | None = None) -> PreflightResult:
    """Build the models once and run every check; raises ConfigError naming the key and the fix."""
    res = PreflightResult()
    need = int(getattr(proj.task, "min_classes", 2))
    if len(proj.labels) < need:
        raise proj.error("data", f"{len(proj.labels)} class(es)", f"give at least {need} class(es)")
    teacher = proj.teacher()
    res.checks.append("teacher: factory returns an nn.Module")
    check_model(proj, teacher, "teacher", opset, res)
    student = proj.student(None, teacher)
    deployed = teacher
    if student is not None:
        res.checks.append("student: factory returns an nn.Module")
        check_model(proj, student, "student", opset, res)
        deployed = student
    if "prune" in proj.plan:
        check_prune(proj, deployed, proj.recipe(False).prune_ratio if ratio is None else ratio, round_to, res)
    return res
