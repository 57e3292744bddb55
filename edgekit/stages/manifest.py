"""Stages `manifest` (assemble the Manifest) and `write_manifest` (hash every file, write atomically)."""

from __future__ import annotations

from edgekit import bundle as B
from edgekit import provenance
from edgekit.errors import ConfigError
from edgekit.stages.context import BuildContext


def default_model_id(ctx: BuildContext) -> str:
    ids = {m.id for m in ctx.models}
    flavour = ctx.profile.int8_flavour
    if flavour == "ort_cpu" and "student_int8_cpu" in ids:
        return "student_int8_cpu"
    if flavour == "trt_qdq" and "student_int8_qdq" in ids:
        return "student_int8_qdq"
    return "student_fp32"


def provenance_of(ctx: BuildContext) -> B.Provenance:
    config = {"example": ctx.example.name, "device": ctx.profile.model_dump(mode="json"),
              "recipe": dict(ctx.recipe.__dict__), "seed": ctx.seed, "fast": ctx.fast}
    return B.Provenance.model_validate({**provenance.versions(),
                                        "config_sha256": provenance.config_sha256(config)})


def manifest_stage(ctx: BuildContext) -> BuildContext:
    spec = ctx.example.spec
    shape = spec.input_shape()
    layout = spec.steps[-1].to  # type: ignore[union-attr]
    ctx.extra["stages"] = [r.as_dict() for r in ctx.records]
    ctx.extra.update({"example": ctx.example.name, "fast": ctx.fast, "seed": ctx.seed,
                      "plan": list(ctx.example.plan), "recipe": dict(ctx.recipe.__dict__),
                      "notes": list(getattr(ctx.example, "notes", ()))})
    try:
        ctx.manifest = B.Manifest(
            name=f"{ctx.example.name}-{ctx.profile.name}",
            device=ctx.profile.name,
            input=B.InputInfo(name="input", shape=[-1, *shape[1:]], layout=layout),
            outputs=[B.TensorInfo(name="logits", shape=[-1, len(ctx.example.labels)])],
            preprocess=spec,
            models=ctx.models,
            default_model=default_model_id(ctx),
            golden=ctx.golden,
            extra=ctx.extra,
            provenance=provenance_of(ctx),
        )
    except ValueError as exc:
        raise ConfigError(f"the build produced an invalid manifest: {exc}", "report this as a bug") from exc
    return ctx


def write_manifest_stage(ctx: BuildContext) -> BuildContext:
    assert ctx.manifest is not None
    ctx.extra["stages"] = [r.as_dict() for r in ctx.records]
    ctx.manifest.extra = ctx.extra  # hooks that ran after `manifest` wrote into ctx.extra
    B.write_manifest(ctx.root, ctx.manifest)
    return ctx
