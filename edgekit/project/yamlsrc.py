"""YAML with line numbers: every mapping key and sequence item of a document is mapped to its 1-based line,
so that a validation error can name both the dotted key and where it is written."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from edgekit.errors import ConfigError

Loc = tuple[str, ...]


class YamlDoc:
    """The plain data of a YAML file plus ``lines``: dotted path (as a tuple of str) -> line."""

    def __init__(self, path: Path, data: Any, lines: dict[Loc, int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines

    def where(self, loc: Sequence[Any]) -> tuple[str, int | None]:
        """The dotted key for a pydantic ``loc`` (union tags that are not keys are skipped) and the line
        of the deepest part of it that is written in the file."""
        parts: list[str] = []
        line = self.lines.get((), None)
        loc = list(loc)
        for i, raw in enumerate(loc):
            cand = (*parts, str(raw))
            if cand in self.lines:
                parts.append(str(raw))
                line = self.lines[cand]
            elif i == len(loc) - 1 and _is_key_like(raw):
                parts.append(str(raw))  # a missing key: named, located at its parent
            # else: a union tag pydantic adds to the location (not a key of the file)
        return ".".join(parts) or "(top level)", line


def _is_key_like(raw: Any) -> bool:
    return isinstance(raw, int) or (
        isinstance(raw, str) and raw.replace("_", "").isalnum() and not raw[:1].isupper()
    )


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = (*loc, str(k.value))
            lines[key] = k.start_mark.line + 1
            _walk(v, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            key = (*loc, str(i))
            lines[key] = v.start_mark.line + 1
            _walk(v, key, lines)


def load_yaml(path: Path) -> YamlDoc:
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist",
            "pass an existing edgekit.yaml to --config (`edgekit init DIR --data FOLDER` writes one)",
        )
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"cannot read config {at}: {exc.problem or exc}", "fix the YAML syntax") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"cannot read config {path}: {str(exc).splitlines()[0]}", "fix the YAML syntax"
        ) from exc
    lines: dict[Loc, int] = {}
    if node is not None:
        lines[()] = node.start_mark.line + 1
        _walk(node, (), lines)
    return YamlDoc(path, {} if data is None else data, lines)
