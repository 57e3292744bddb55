"""The device flash lease (edgekit/flash/lock.py) against the real sshd on 127.0.0.1: four flashes of one
bundle to one device truly in parallel (four processes released together), a live lease refusing a second
flash, an expired lease taken over, --break-lock, and the lease gone after a flash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flash_helpers import opts, variant

from edgekit import bundle as B
from edgekit.flash.deploy import flash
from edgekit.flash.errors import FlashError
from edgekit.flash.lock import LEASE
from edgekit.remote import SshTarget
from tests.sshd import SshServer

pytestmark = pytest.mark.ssh

ROOT = Path(__file__).resolve().parents[2]

# One flasher process: import, say "ready", wait for "go", flash, print the outcome as one JSON line.
WORKER = r"""
import json, sys, time
from pathlib import Path
from edgekit.flash.deploy import FlashOptions, flash
from edgekit.errors import EdgekitError
from edgekit.remote import SshTarget
bundle, host, port, ident, kh, dev, sync, n = sys.argv[1:9]
t = SshTarget.parse(host, port=int(port), identity=Path(ident), known_hosts=Path(kh))
Path(sync, f"ready{n}").touch()
while not Path(sync, "go").exists():
    time.sleep(0.005)
try:
    rep = flash(Path(bundle), t, FlashOptions(remote_dir=dev, runtime=False, engine=False, parity=False))
    print(json.dumps({"ok": True, "lock": rep.lock, "steps": [s.status for s in rep.steps]}))
except EdgekitError as exc:
    print(json.dumps({"ok": False, "error": str(exc), "type": type(exc).__name__}))
"""


def _lease(dev: Path, host: str, pid: str, since: int, expires: int) -> None:
    dev.mkdir(parents=True, exist_ok=True)
    (dev / LEASE).write_text(
        f"token=deadbeef\nhost={host}\npid={pid}\nsince={since}\nexpires={expires}\nwhat=flash other\n"
    )


def test_four_parallel_flashes_one_wins_the_others_are_told(
    tiny_bundle: Path, server: SshServer, tmp_path: Path
) -> None:
    big = variant(tiny_bundle, tmp_path / "big", {"models/blob.bin": os.urandom(24 << 20)})
    dev, sync = tmp_path / "device", tmp_path / "sync"
    sync.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(big),
                server.target,
                str(server.port),
                str(server.identity),
                str(server.known_hosts),
                str(dev),
                str(sync),
                str(i),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(4)
    ]
    deadline = time.monotonic() + 120
    while len(list(sync.glob("ready*"))) < 4:
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "workers did not start"
        time.sleep(0.02)
    (sync / "go").touch()  # all four flash at once from here
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    wins = [o for o in outs if o["ok"]]
    refused = [o for o in outs if not o["ok"]]
    assert wins, outs
    assert all(
        "another flash is running" in o["error"] and "pid" in o["error"] and "since" in o["error"]
        for o in refused
    ), refused
    assert refused, f"the four flashes did not overlap at all: {outs}"  # 24 MiB each: they must
    assert not any("sha256" in o.get("error", "") for o in outs)
    cur = dev / os.readlink(dev / "current")
    assert B.load(cur, verify=True).manifest.files == B.load(big).manifest.files
    assert not (dev / LEASE).exists()  # released by the winner(s)


def test_live_lease_refuses_with_holder_then_break_lock(
    tiny_bundle: Path, target: SshTarget, tmp_path: Path
) -> None:
    dev = tmp_path / "device"
    now = int(time.time())
    _lease(dev, "buildbox", "4242", now - 30, now + 600)
    with pytest.raises(FlashError, match=r"another flash is running .*\(buildbox, pid 4242, since .* UTC"):
        flash(tiny_bundle, target, opts(dev))
    assert not (dev / "current").exists() and (dev / LEASE).exists()  # nothing touched, lease kept
    rep = flash(tiny_bundle, target, opts(dev, break_lock=True))
    assert "broke the lease of buildbox, pid 4242" in rep.lock
    assert (dev / "current").is_symlink() and not (dev / LEASE).exists()


def test_expired_lease_is_taken_over(tiny_bundle: Path, target: SshTarget, tmp_path: Path) -> None:
    dev = tmp_path / "device"
    now = int(time.time())
    _lease(dev, "crashed-laptop", "77", now - 4000, now - 5)
    rep = flash(tiny_bundle, target, opts(dev))
    assert rep.lock.startswith("took over an expired lease of crashed-laptop, pid 77")
    assert (dev / "current").is_symlink() and not (dev / LEASE).exists()


def test_cli_second_flash_one_line_and_nonzero(tiny_bundle: Path, server: SshServer, tmp_path: Path) -> None:
    dev = tmp_path / "device"
    now = int(time.time())
    _lease(dev, "otherhost", "99", now, now + 600)
    common = [
        "--host",
        server.target,
        "--port",
        str(server.port),
        "--identity",
        str(server.identity),
        "--known-hosts",
        str(server.known_hosts),
        "--remote-dir",
        str(dev),
        "--no-runtime",
    ]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    p = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "flash", str(tiny_bundle), *common],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "another flash is running" in p.stderr and "--break-lock" in p.stderr


def test_lease_of_a_dead_flash_on_this_host_is_taken_over(
    tiny_bundle: Path, target: SshTarget, tmp_path: Path
) -> None:
    """A dropped connection leaves a live-looking lease; its holder (this host, a pid that is gone) is
    dead, so a re-run takes it over instead of waiting for the expiry. A live pid on this host still wins."""
    import socket

    dev = tmp_path / "device"
    now = int(time.time())
    gone = subprocess.Popen(["true"])
    gone.wait()
    _lease(dev, socket.gethostname(), str(gone.pid), now, now + 600)
    rep = flash(tiny_bundle, target, opts(dev))
    assert rep.lock == f"took over the lease of a flash on this host that is gone (pid {gone.pid})"
    alive = subprocess.Popen(["sleep", "30"])
    try:
        _lease(dev, socket.gethostname(), str(alive.pid), now, now + 600)
        with pytest.raises(FlashError, match=f"another flash is running .*pid {alive.pid}"):
            flash(tiny_bundle, target, opts(dev))
    finally:
        alive.kill()
        alive.wait()
