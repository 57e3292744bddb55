"""Fixtures for flash tests: one real tiny bundle and one real sshd per session (the "device")."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgekit.remote import SshTarget
from tests import sshd

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_session: Path) -> Path:
    """The session's tiny ``cpu`` bundle (tests/conftest.py); tests copy it before changing anything."""
    return tiny_bundle_session


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd.SshServer]:
    why = sshd.available()
    if why:
        pytest.skip(f"no local sshd: {why}")
    srv = sshd.SshServer(tmp_path_factory.mktemp("sshd"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def target(server: sshd.SshServer) -> SshTarget:
    return SshTarget.parse(server.target, port=server.port, identity=server.identity,
                           known_hosts=server.known_hosts)
