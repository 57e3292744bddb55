"""Rebuild every calibration point's model as an ONNX graph and extract its features (features.json)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgekit.bench.calibration import FEATURES, zoo
from edgekit.bench.calibration.features import Features, extract
from edgekit.bench.calibration.points import Point, PointSet


def point_features(p: Point, workdir: Path) -> Features:
    from edgekit.profiles import get_profile

    onnx_path = workdir / f"{p.model}_{p.input[1]}x{p.input[2]}_b{p.batch}.onnx"
    if not onnx_path.exists():
        zoo.export(p.model, onnx_path, (p.batch, *p.input))
    return extract(
        onnx_path,
        p.batch,
        p.precision,
        p.unit,
        get_profile(p.device),
        io_reformat=p.io_reformat,
        gpu_ops=p.gpu_ops,
    )


def rebuild(
    ps: PointSet,
    path: Path = FEATURES,
    progress: Callable[[str], None] | None = None,
    only_missing: bool = False,
) -> dict[str, Any]:
    """Export and extract every point's features; ``only_missing`` keeps the keys already in ``path``."""
    feats: dict[str, Any] = {}
    if only_missing and path.exists():
        feats = json.loads(path.read_text())["features"]
    with tempfile.TemporaryDirectory(prefix="edgekit-calib-") as d:
        for p in ps.points:
            key = feature_key(p)
            if key in feats:
                continue
            if progress:
                progress(key)
            feats[key] = point_features(p, Path(d)).to_dict()
            for f in Path(d).glob(f"{p.model}_*.onnx"):
                f.unlink()  # VGG graphs are ~0.5 GB each
    used = {feature_key(p) for p in ps.points}
    feats = {k: v for k, v in feats.items() if k in used}
    doc = {"schema": "edgekit-calib-features/1", "points_version": ps.version, "features": feats}
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    os.replace(tmp, path)
    return doc


def feature_key(p: Point) -> str:
    k = p.key if p.unit == "gpu" or p.io_reformat else p.key + "/noreformat"
    return k + (f"/gpu_ops={'+'.join(p.gpu_ops)}" if p.gpu_ops else "")
