"""The C++ runtime and parity on the device, through a real sshd.

Fast: the device already has a runtime built from the current sources (this machine's build, linked into
the device folder, and its fingerprint): flash must skip the build and run parity there over SSH.
Slow (once per session): a real build from scratch on the device, then a re-flash that skips it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flash_helpers import opts

from edgekit.flash import runtime as R
from edgekit.flash.deploy import flash
from edgekit.flash.layout import RemoteLayout
from edgekit.parity.executor import REPO_BINARY
from edgekit.remote import SshTarget
from tests.sshd import SshServer

pytestmark = [pytest.mark.ssh, pytest.mark.cpp]


def _need_local_runtime() -> None:
    if not (REPO_BINARY.is_file() and os.access(REPO_BINARY, os.X_OK)):
        pytest.skip(f"the C++ runtime is not built here ({REPO_BINARY}); run tools/setup_cpp.sh")


def _preinstall(dev: Path) -> None:
    """Make ``dev`` look like a device whose runtime was built from the current sources."""
    lay = RemoteLayout(str(dev))
    binary = Path(R.remote_binary(lay))
    binary.parent.mkdir(parents=True)
    binary.symlink_to(REPO_BINARY)
    Path(lay.fingerprint).write_text(R.fingerprint(R.source_files()) + "\n")


def test_flash_runs_parity_on_the_device(tiny_bundle: Path, target: SshTarget, server: SshServer,
                                         tmp_path: Path) -> None:
    _need_local_runtime()
    dev = tmp_path / "device"
    _preinstall(dev)
    out = tmp_path / "parity.json"
    rep = flash(tiny_bundle, target, opts(dev, runtime=True, parity=True, parity_out=out))
    steps = {s.name: s for s in rep.steps}
    assert steps["runtime"].status == "ok" and "up to date" in steps["runtime"].detail
    assert steps["engine"].status == "skipped"  # cpu profile: no TensorRT step
    assert steps["parity"].status == "ok", steps["parity"].detail
    got = json.loads(out.read_text())
    assert got["verdict"] == "in sync" and server.target.split("@")[1] in got["where"]
    assert (dev / "reports" / f"{rep.bundle_id}.parity.json").is_file()  # a copy stays on the device

    # the parity command's own --host path, through the same transport (exit 0 = in sync)
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    p = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "parity", str(tiny_bundle), "--host", server.target, "--port",
         str(server.port), "--identity", str(server.identity), "--known-hosts", str(server.known_hosts),
         "--remote-dir", str(dev), "--json", "-"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout.strip().splitlines()[-1])["verdict"] == "in sync"


def test_parity_host_without_flash_says_what_to_do(
    tiny_bundle: Path, server: SshServer, tmp_path: Path
) -> None:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    p = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "parity", str(tiny_bundle), "--host", server.target, "--port",
         str(server.port), "--identity", str(server.identity), "--known-hosts", str(server.known_hosts),
         "--remote-dir", str(tmp_path / "empty")], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 2 and "edgekit flash" in p.stderr, p.stderr[-2000:]


@pytest.mark.slow
def test_runtime_is_built_on_the_device_once(tiny_bundle: Path, target: SshTarget, tmp_path: Path) -> None:
    """A real remote build (venv + onnxruntime from PyPI, CMake) — minutes; then skipped when current."""
    if not R.source_files():
        pytest.skip("no C++ sources")
    dev = tmp_path / "device"
    rep = flash(tiny_bundle, target, opts(dev, runtime=True, parity=True, parity_out=tmp_path / "p.json"))
    steps = {s.name: s for s in rep.steps}
    assert steps["runtime"].status == "ok" and steps["runtime"].detail.startswith("built"), steps["runtime"]
    assert steps["parity"].status == "ok", steps["parity"].detail
    built_fp = Path(RemoteLayout(str(dev)).fingerprint).read_text().strip()
    assert len(built_fp) == 64 and rep.steps
    again = flash(tiny_bundle, target, opts(dev, runtime=True, parity=False))
    if R.fingerprint(R.source_files()) == built_fp:  # unless someone edited the sources meanwhile
        assert {s.name: s for s in again.steps}["runtime"].detail.startswith("up to date")
