"""Stages `manifest` (assemble the Manifest) and `write_manifest` (hash every file, write atomically)."""

from __future__ import annotations

import hashlib

from edgekit import bundle as B
from edgekit import provenance
from edgekit.build_record import RecipeRecord
from edgekit.errors import ConfigError
from edgekit.project.task import Task, get_task
from edgekit.stages.context import BuildContext


def default_model_id(ctx: BuildContext) -> str:
    ids = {m.id for m in ctx.models}
    flavour = ctx.profile.int8_flavour
    if flavour == "ort_cpu" and "student_int8_cpu" in ids:
        return "student_int8_cpu"
    if flavour == "trt_qdq" and "student_int8_qdq" in ids:
        return "student_int8_qdq"
    return "student_fp32"


def _task(ctx: BuildContext) -> Task:
    task = getattr(ctx.example, "task", None)
    return task if task is not None else get_task("classification")


def fill_record(ctx: BuildContext) -> None:
    """The typed build record (edgekit/build_record.py) from what the stages recorded."""
    ctx.build.stages = [r.row() for r in ctx.records]
    b = ctx.build
    b.project = ctx.example.name
    b.fast, b.seed, b.plan = ctx.fast, ctx.seed, list(ctx.example.plan)
    b.recipe = RecipeRecord(**dict(ctx.recipe.__dict__))
    b.notes = list(getattr(ctx.example, "notes", ()))
    b.metric = _task(ctx).metric_name()
    b.labels_sha256 = hashlib.sha256("\n".join(ctx.example.labels).encode()).hexdigest()
    cfg_hash = getattr(ctx.example, "config_hash", None)
    b.config_sha256 = cfg_hash() if cfg_hash is not None else ""


def provenance_of(ctx: BuildContext) -> B.Provenance:
    config = {"example": ctx.example.name, "device": ctx.profile.model_dump(mode="json"),
              "recipe": dict(ctx.recipe.__dict__), "seed": ctx.seed, "fast": ctx.fast}
    cfg_hash = getattr(ctx.example, "config_hash", None)  # the project config's own hash when it has one
    digest = cfg_hash() if cfg_hash is not None else provenance.config_sha256(config)
    return B.Provenance.model_validate({**provenance.versions(), "config_sha256": digest})


def manifest_stage(ctx: BuildContext) -> BuildContext:
    spec = ctx.example.spec
    shape = spec.input_shape()
    layout = spec.steps[-1].to  # type: ignore[union-attr]
    task = _task(ctx)
    fill_record(ctx)
    n = len(ctx.example.labels)
    outputs = [B.TensorInfo(name=name, shape=shp)
               for name, shp in zip(task.output_names(), task.output_shapes(n), strict=True)]
    try:
        ctx.manifest = B.Manifest(
            name=f"{ctx.example.name}-{ctx.profile.name}",
            device=ctx.profile.name,
            task=task.name,  # type: ignore[arg-type]
            input=B.InputInfo(name="input", shape=[-1, *shape[1:]], layout=layout),
            outputs=outputs,
            preprocess=spec,
            postprocess=task.postprocess(ctx.example.labels),
            models=ctx.models,
            default_model=default_model_id(ctx),
            golden=ctx.golden,
            build=ctx.build,
            extra=ctx.extra,
            provenance=provenance_of(ctx),
        )
    except ValueError as exc:
        raise ConfigError(f"the build produced an invalid manifest: {exc}", "report this as a bug") from exc
    return ctx


def write_manifest_stage(ctx: BuildContext) -> BuildContext:
    assert ctx.manifest is not None
    ctx.build.stages = [r.row() for r in ctx.records]
    ctx.manifest.build = ctx.build
    ctx.manifest.extra = ctx.extra  # hooks that ran after `manifest` wrote into ctx.extra
    B.write_manifest(ctx.root, ctx.manifest)
    return ctx
