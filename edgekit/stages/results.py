"""Shared by the post-export stages: results go to ``ctx.extra["hooks"]`` (JSON-able)."""

from __future__ import annotations

from typing import Any

from edgekit.stages.context import BuildContext

DLA_MODEL_ID = "student_int8_dla"


def _jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "model_dump"):
        return _jsonable(obj.model_dump(mode="json"))
    return str(obj)


def _results(ctx: BuildContext) -> dict[str, Any]:
    return ctx.extra.setdefault("hooks", {})
