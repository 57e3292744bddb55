"""Built-in examples for `edgekit build`, looked up by name."""

from __future__ import annotations

import difflib
import importlib

from edgekit.errors import ConfigError
from edgekit.examples.base import Example, ExampleData, GoldenSample, Recipe

# name -> "module:ClassName"; a module that fails to import is reported when its example is asked for.
EXAMPLES: dict[str, str] = {
    "digits": "edgekit.examples.digits:DigitsExample",
    "mobilenetv2-imagenet": "edgekit.examples.mobilenetv2:MobileNetV2Example",
}


def example_names() -> list[str]:
    return list(EXAMPLES)


def get_example(name: str) -> Example:
    if name not in EXAMPLES:
        close = difflib.get_close_matches(name, list(EXAMPLES), n=1, cutoff=0.4)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(f"unknown example '{name}'", f"{hint}valid examples: {', '.join(EXAMPLES)}")
    mod_name, cls_name = EXAMPLES[name].split(":")
    try:
        cls = getattr(importlib.import_module(mod_name), cls_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"example '{name}' is not available: {exc}", "install its dependencies or pick another example"
        ) from exc
    ex = cls()
    assert isinstance(ex, Example)
    return ex


__all__ = ["EXAMPLES", "Example", "ExampleData", "GoldenSample", "Recipe", "example_names", "get_example"]
