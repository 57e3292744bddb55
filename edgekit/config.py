"""``edgekit.yaml``: the optional build configuration. Command-line options override it.

    example: digits            # or mobilenetv2-imagenet
    device: jetson-xavier      # a device_configs/ profile
    out: bundles/digits-xavier # relative paths are relative to this file
    teacher: null              # a teacher state dict (torch.save) to skip teacher training
    seed: 0
    fast: false
    recipe:                    # overrides of the example's Recipe (edgekit/examples/base.py)
      teacher_epochs: 6
      prune_ratio: 0.5
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from edgekit.errors import ConfigError
from edgekit.examples.base import Recipe


def _recipe_overrides_model() -> type[BaseModel]:
    fields: dict = {}
    for f in dataclasses.fields(Recipe):
        typ = f.type if isinstance(f.type, type) else eval(str(f.type), {})  # noqa: S307 - our own annotations
        fields[f.name] = (typ | None, None)
    return create_model("RecipeOverrides", __config__=ConfigDict(extra="forbid"), **fields)


RecipeOverrides = _recipe_overrides_model()


class BuildConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    example: str = "digits"
    device: str | None = None
    out: Path | None = None
    teacher: Path | None = None
    seed: int = Field(default=0, ge=0)
    fast: bool = False
    recipe: RecipeOverrides = Field(default_factory=RecipeOverrides)  # type: ignore[valid-type]

    def apply(self, recipe: Recipe) -> Recipe:
        changes = {k: v for k, v in self.recipe.model_dump().items() if v is not None}  # type: ignore[attr-defined]
        return dataclasses.replace(recipe, **changes)


def load_config(path: Path | None) -> BuildConfig:
    if path is None:
        return BuildConfig()
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist", "pass an existing edgekit.yaml to --config")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {str(exc).splitlines()[0]}",
                          "fix the YAML syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping of keys to values",
                          "see edgekit/config.py for the keys")
    try:
        cfg = BuildConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"config {path} is invalid at '{where}': {first['msg']}",
                          "correct that key (see edgekit/config.py for the schema)") from exc
    base = path.resolve().parent
    for key in ("out", "teacher"):
        val = getattr(cfg, key)
        if val is not None and not val.is_absolute():
            setattr(cfg, key, base / val)
    return cfg
