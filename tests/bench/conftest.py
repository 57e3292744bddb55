"""Shared fixtures: the session's real tiny bundle (tests/conftest.py), a copy relabelled for
the jetson-xavier profile, and one real 1-iteration ONNX Runtime bench of it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_session: Path) -> Path:
    """The session's real tiny bundle (tests/conftest.py); read-only here."""
    return tiny_bundle_session


@pytest.fixture(scope="session")
def jetson_bundle(tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same real models, with manifest.device rewritten to jetson-xavier (no Jetson build exists here)."""
    from edgekit import bundle as B

    out = tmp_path_factory.mktemp("bench-jetson") / "tiny-xavier"
    shutil.copytree(tiny_bundle, out)
    b = B.load(out)
    b.manifest.device = "jetson-xavier"
    B.write_manifest(out, b.manifest)
    return out


@pytest.fixture(scope="session")
def bench_doc(tiny_bundle: Path) -> dict[str, Any]:
    """A real bench: ONNX Runtime, batch 1, 1 warm-up + 1 timed iteration, every model in its own process."""
    from edgekit import bundle as B
    from edgekit.bench.measure import BenchConfig, bench_bundle

    doc = bench_bundle(B.load(tiny_bundle), BenchConfig(runtime="ort", batches=(1,), warmup=1, iters=1))
    json.dumps(doc)  # must serialize
    return doc
