"""The built-in `digits` example is a project: edgekit/projects/digits/ (edgekit.yaml + model.py). This module
re-exports its CNN for code and tests that build the architecture directly."""

from __future__ import annotations

from edgekit.projects.digits.model import cnn

__all__ = ["cnn"]
