"""Shared pytest set-up: passive OpenMP waiting on these 2 vCPUs, one tiny bundle per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def tiny_bundle_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real bundle (tests/fixtures/tiny_bundle.py), built once per session. Do not modify it."""
    from tests.fixtures.tiny_bundle import make_tiny_bundle

    return make_tiny_bundle(tmp_path_factory.mktemp("tiny") / "bundle")


@pytest.fixture()
def tiny_bundle_copy(tiny_bundle_session: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny bundle that a test may edit."""
    dst = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_session, dst)
    return dst
