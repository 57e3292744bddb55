"""The build hook (edgekit/stages/bench_estimate.py): ``estimate(root, manifest, profile)``.

Writes ``estimate.json`` (the ``edgekit-estimate/1`` document: per-model, per-unit roofline with per-layer
placement) into the bundle being built, and returns a compact summary for ``manifest.extra["hooks"]``.
``edgekit report`` and :func:`edgekit.report.write_report` read ``estimate.json`` when no estimate is passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.bench.roofline import estimate_bundle
from edgekit.bundle import Bundle, Manifest
from edgekit.io import atomic_write_json
from edgekit.profiles import DeviceProfile

ESTIMATE_FILE = "estimate.json"


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """Totals only: {model_id: {unit: ms}} (or the error), plus device and batch."""
    models: dict[str, Any] = {}
    for mid, e in doc["models"].items():
        if "error" in e:
            models[mid] = {"error": e["error"]}
            continue
        models[mid] = {
            u: round(t["total_ms"], 5) if t.get("available") else f"n/a: {t.get('why')}"
            for u, t in e["targets"].items()
        }
    return {"device": doc["device"], "batch": doc["batch"], "file": ESTIMATE_FILE, "total_ms": models}


def estimate(
    root: str | Path, manifest: Manifest, profile: DeviceProfile | str, batch: int = 1
) -> dict[str, Any]:
    root = Path(root)
    name = profile if isinstance(profile, str) else profile.name
    doc = estimate_bundle(Bundle(root, manifest), name, batch)
    atomic_write_json(root / ESTIMATE_FILE, doc)
    return summarize(doc)
