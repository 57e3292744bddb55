"""Built-in examples for `edgekit build`, looked up by name. Each is an ordinary project shipped in the
package (edgekit/projects/<name>/edgekit.yaml + model.py), loaded by the same loader as a user's project."""

from __future__ import annotations

import difflib

from edgekit.errors import ConfigError
from edgekit.examples.base import Example, ExampleData, GoldenSample, Recipe


def example_names() -> list[str]:
    from edgekit.project.project import builtin_names

    return builtin_names()


def get_example(name: str) -> Example:
    from edgekit.project.project import builtin_path, load_project

    names = example_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.4)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(f"unknown example '{name}'", f"{hint}valid examples: {', '.join(names)}")
    return load_project(builtin_path(name))


EXAMPLES = {n: f"edgekit/projects/{n}/edgekit.yaml"
            for n in ("digits", "digits-detection", "mobilenetv2-imagenet")}

__all__ = ["EXAMPLES", "Example", "ExampleData", "GoldenSample", "Recipe", "example_names", "get_example"]
