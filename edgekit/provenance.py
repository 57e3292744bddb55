"""Provenance: which software made a bundle, and from which configuration.

``versions()`` reads installed distributions' metadata (no heavy imports: ``edgekit --version`` stays fast);
``config_sha256()`` hashes the effective build configuration (example, device profile, recipe, seed, fast) as
canonical JSON, so two bundles built from the same inputs carry the same hash.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from typing import Any

from edgekit import __version__

# component -> distributions that provide it, first installed one wins
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "onnx": ("onnx",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "opencv": (
        "opencv-python-headless",
        "opencv-python",
        "opencv-contrib-python-headless",
        "opencv-contrib-python",
    ),
}


def dist_version(names: tuple[str, ...]) -> str | None:
    for n in names:
        try:
            return metadata.version(n)
        except metadata.PackageNotFoundError:
            continue
    return None


def versions() -> dict[str, str | None]:
    """``edgekit``, ``python`` and each of DISTRIBUTIONS' components (None when not installed)."""
    out: dict[str, str | None] = {"edgekit": __version__, "python": platform.python_version()}
    for comp, names in DISTRIBUTIONS.items():
        out[comp] = dist_version(names)
    return out


def config_sha256(config: dict[str, Any]) -> str:
    """sha256 of ``config`` as canonical JSON (sorted keys, no whitespace; non-JSON values via str)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def version_text() -> str:
    """What ``edgekit --version`` prints: one ``name version`` line per component."""
    return "\n".join(f"{k:12s} {v or 'not installed'}" for k, v in versions().items())
