"""Stage reuse inside the training stages: look a stage up in ``ctx.cache`` by its key, or save it after."""

from __future__ import annotations

from typing import Any

from edgekit.project.reuse import stage_key
from edgekit.stages.context import BuildContext, StageRecord


def key_for(ctx: BuildContext, stage: str, upstream: str | None) -> str:
    key = stage_key(ctx, stage, upstream)
    ctx.keys[stage] = key
    return key


def lookup(ctx: BuildContext, stage: str, key: str) -> dict[str, Any] | None:
    if ctx.cache is None:
        return None
    hit = ctx.cache.load(stage, key)
    if hit is not None:
        ctx.build.reused_stages.append(stage)
        ctx.reporter.log(f"{stage}: inputs unchanged — reused from the stage cache ({ctx.cache.root})")
    return hit


def records_of(hit: dict[str, Any]) -> list[StageRecord]:
    return [StageRecord(**{**r, "reused": True}) for r in hit.get("records", [])]


def store(
    ctx: BuildContext, stage: str, key: str, state: Any, records: list[StageRecord], **meta: Any
) -> None:
    if ctx.cache is None:
        return
    ctx.cache.save(stage, key, {"state": state, "records": [r.as_dict() for r in records], **meta})
