"""``edgekit parity --host``: the C++ runtime run over real SSH (a local OpenSSH server standing in for the
device) through the flash engineer's SSH executor, in the folder layout ``edgekit flash`` creates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgekit import bundle as B
from tests.parity.conftest import CPP_BINARY, edit_manifest, step

pytestmark = [pytest.mark.ssh, pytest.mark.cpp]


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    sshd = pytest.importorskip("tests.sshd")
    pytest.importorskip("edgekit.remote.executor", reason="the SSH transport (edgekit.remote) is not present")
    if CPP_BINARY is None:
        pytest.skip("edgekit-infer is not built (cpp_runtime/build/bin); CI builds it")
    why = sshd.available()
    if why:
        pytest.skip(f"no local sshd: {why}")
    srv = sshd.SshServer(tmp_path_factory.mktemp("sshd"))
    srv.start()
    yield srv
    srv.stop()


def _flash_layout(bundle: Path, remote_dir: Path) -> None:
    """What ``edgekit flash`` leaves on a device: bundles/<id>/ and the runtime binary under runtime/src."""
    from edgekit.flash.layout import bundle_id
    from edgekit.flash.runtime import BINARY_REL

    dst = remote_dir / "bundles" / bundle_id(B.load(bundle, verify=False))
    shutil.copytree(bundle, dst)
    binary = remote_dir / "runtime" / "src" / BINARY_REL
    binary.parent.mkdir(parents=True, exist_ok=True)
    assert CPP_BINARY is not None
    binary.symlink_to(CPP_BINARY)


def _parity(device: object, bundle: Path, remote_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    args = [
        sys.executable,
        "-m",
        "edgekit.cli",
        "parity",
        str(bundle),
        "--host",
        device.target,  # type: ignore[attr-defined]
        "--port",
        str(device.port),
        "--identity",
        str(device.identity),  # type: ignore[attr-defined]
        "--known-hosts",
        str(device.known_hosts),
        "--remote-dir",
        str(remote_dir),
        "--json",
        "-",
    ]  # type: ignore[attr-defined]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_remote_parity_in_sync_and_drift(device: object, tiny_bundle_copy: Path, tmp_path: Path) -> None:
    import json

    clean_dir = tmp_path / "dev-clean"
    _flash_layout(tiny_bundle_copy, clean_dir)
    p = _parity(device, tiny_bundle_copy, clean_dir)
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout.strip().splitlines()[-1])
    assert rep["verdict"] == "in sync" and rep["where"].startswith(device.target)  # type: ignore[attr-defined]

    edit_manifest(tiny_bundle_copy, lambda raw: step(raw, "normalize").update(mean=[0.5]))
    drift_dir = tmp_path / "dev-drift"
    _flash_layout(tiny_bundle_copy, drift_dir)
    p = _parity(device, tiny_bundle_copy, drift_dir)
    assert p.returncode == 1, p.stderr
    rep = json.loads(p.stdout.strip().splitlines()[-1])
    assert rep["first_divergence"] == "03_normalize" and "mean mismatch" in rep["diagnoses"][0]["cause"]
