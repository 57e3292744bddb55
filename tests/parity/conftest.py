"""Parity fixtures: the shared tiny digits bundle (tests/conftest.py) plus a small color bundle, built once
per session; helpers to inject drift into a copy the way a user would (edit, then re-hash)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from edgekit import bundle as B
from edgekit.parity.executor import find_local_binary

CPP_BINARY = find_local_binary()
RUNTIMES = [
    "ort",
    "torch",
    pytest.param(
        "cpp",
        marks=[
            pytest.mark.cpp,
            pytest.mark.skipif(
                CPP_BINARY is None, reason="edgekit-infer is not built (cpp_runtime/build/bin); CI builds it"
            ),
        ],
    ),
]


@pytest.fixture(scope="session")
def color_bundle_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.parity.color_bundle import make_color_bundle

    return make_color_bundle(tmp_path_factory.mktemp("color") / "bundle")


@pytest.fixture()
def color_bundle_copy(color_bundle_session: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "color"
    shutil.copytree(color_bundle_session, dst)
    return dst


@pytest.fixture(scope="session")
def det_bundle_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.parity.det_bundle import make_det_bundle

    return make_det_bundle(tmp_path_factory.mktemp("det") / "bundle")


@pytest.fixture()
def det_bundle_copy(det_bundle_session: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "det"
    shutil.copytree(det_bundle_session, dst)
    return dst


def edit_manifest(root: Path, edit: Callable[[dict], None]) -> None:
    """Edit manifest.json as a user would, then re-hash so the bundle's checksums pass."""
    raw = json.loads((root / B.MANIFEST).read_text())
    edit(raw)
    raw["preprocess_sha256"] = ""
    B.write_manifest(root, B.Manifest.model_validate(raw))


def rehash(root: Path) -> None:
    edit_manifest(root, lambda raw: None)


def step(raw: dict, op: str) -> dict:
    return next(s for s in raw["preprocess"]["steps"] if s["op"] == op)
