"""Flash against a real OpenSSH server on 127.0.0.1 (the "device"): transfer, verify, atomic switch,
rollback, resume after a dropped connection, corruption in transit, hostile names, host keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flash_helpers import opts, variant

from edgekit import bundle as B
from edgekit.flash import deploy
from edgekit.flash.deploy import flash, rollback
from edgekit.flash.errors import FlashError, TransferCorrupt
from edgekit.remote import ConnectionLost, HostKeyError, SshRemote, SshTarget
from tests.sshd import SshServer

pytestmark = pytest.mark.ssh


def active(dev: Path, name: str = "current") -> Path:
    return dev / os.readlink(dev / name)


def test_flash_then_rollback(tiny_bundle: Path, target: SshTarget, tmp_path: Path) -> None:
    dev = tmp_path / "device"
    r1 = flash(tiny_bundle, target, opts(dev))
    assert [s.status for s in r1.steps[:3]] == ["ok", "ok", "ok"], r1.steps
    assert r1.previous is None and r1.transfer["files_sent"] == r1.transfer["files_total"]
    a = active(dev)
    assert B.load(a).manifest.files == B.load(tiny_bundle).manifest.files  # every sha256 matches

    other = variant(tiny_bundle, tmp_path / "b2", {"notes/v2.txt": b"second bundle\n"})
    r2 = flash(other, target, opts(dev))
    assert r2.previous == f"bundles/{a.name}"
    assert active(dev) != a and (active(dev) / "notes/v2.txt").read_bytes() == b"second bundle\n"
    assert active(dev, "previous") == a
    B.load(active(dev))

    again = flash(other, target, opts(dev))  # same bundle: nothing sent, nothing switched
    assert again.steps[0].status == "skipped" and "already the active" in again.steps[2].detail

    rb = rollback(target, str(dev))
    assert active(dev) == a and active(dev, "previous").name == r2.bundle_id
    B.load(active(dev))
    rollback(target, str(dev))  # a second rollback undoes the first
    assert active(dev).name == r2.bundle_id
    assert rb.steps[0].name == "verify" and rb.steps[0].status == "ok"


def test_rollback_without_previous_is_refused(tiny_bundle: Path, target: SshTarget, tmp_path: Path) -> None:
    dev = tmp_path / "device"
    flash(tiny_bundle, target, opts(dev))
    with pytest.raises(FlashError, match="no previous bundle"):
        rollback(target, str(dev))


def test_rollback_refuses_a_damaged_previous(tiny_bundle: Path, target: SshTarget, tmp_path: Path) -> None:
    dev = tmp_path / "device"
    flash(tiny_bundle, target, opts(dev))
    flash(variant(tiny_bundle, tmp_path / "b2", {"v2.txt": b"2"}), target, opts(dev))
    cur = active(dev)
    lab = active(dev, "previous") / "labels.txt"
    lab.write_text(lab.read_text().replace("0", "O"))
    with pytest.raises(FlashError, match="damaged"):
        rollback(target, str(dev))
    assert active(dev) == cur


def test_dropped_connection_keeps_the_old_bundle_and_resumes(
    tiny_bundle: Path, server: SshServer, target: SshTarget, tmp_path: Path
) -> None:
    dev = tmp_path / "device"
    flash(tiny_bundle, target, opts(dev))
    old = active(dev)
    big = variant(tiny_bundle, tmp_path / "big", {"models/blob.bin": os.urandom(3 << 20)})
    sent = 0
    killed = 0

    def on_bytes(n: int) -> None:
        nonlocal sent, killed
        sent += n
        if sent > (1 << 20) and not killed:
            killed = server.kill_sessions()  # SIGKILL the session processes: a real dropped connection

    with pytest.raises(ConnectionLost, match="re-run"):
        flash(big, target, opts(dev, on_bytes=on_bytes))
    assert killed >= 1
    assert active(dev) == old  # the active bundle was never touched
    B.load(active(dev))
    staged = list((dev / "staging").iterdir())
    assert len(staged) == 1 and not (dev / "bundles" / staged[0].name).exists()

    rep = flash(big, target, opts(dev))
    t = rep.transfer
    assert t["files_kept"] + t["files_resumed"] >= 1 and t["bytes_sent"] < t["bytes_total"], t
    assert active(dev).name == rep.bundle_id and active(dev, "previous") == old
    B.load(active(dev))


def test_corruption_in_transit_is_caught_and_not_activated(
    tiny_bundle: Path, target: SshTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = tmp_path / "device"
    flash(tiny_bundle, target, opts(dev))
    old = active(dev)
    other = variant(tiny_bundle, tmp_path / "b2", {"v2.txt": b"second"})
    real_upload = deploy.upload

    def corrupting_upload(remote, bundle, dest, on_bytes=None):  # type: ignore[no-untyped-def]
        stats = real_upload(remote, bundle, dest, on_bytes)
        f = Path(dest) / "models" / "student_fp32.onnx"  # flip one byte, same size: only sha256 can tell
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0xFF
        f.write_bytes(bytes(data))
        return stats

    monkeypatch.setattr(deploy, "upload", corrupting_upload)
    with pytest.raises(TransferCorrupt, match="models/student_fp32.onnx.*NOT activated"):
        flash(other, target, opts(dev))
    assert active(dev) == old
    monkeypatch.setattr(deploy, "upload", real_upload)
    rep = flash(other, target, opts(dev))  # re-run: only the removed bad file travels again
    assert rep.transfer["files_sent"] == 1, rep.transfer
    B.load(active(dev))


def test_hostile_names_are_data_not_commands(tiny_bundle: Path, target: SshTarget, tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    evil = f"dev $(touch {sentinel}); touch {sentinel} ; 'q\" `touch {sentinel}`"
    dev = tmp_path / evil
    src = variant(tiny_bundle, tmp_path / f"my bundle $(touch {sentinel});'", {
        f"golden/odd $(touch {sentinel}); 'x\".txt": b"odd",
        "golden/-n": b"dash",
    })
    flash(src, target, opts(dev))
    got = B.load(active(dev))
    assert (got.root / f"golden/odd $(touch {sentinel}); 'x\".txt").read_bytes() == b"odd"
    flash(tiny_bundle, target, opts(dev))
    rollback(target, str(dev))
    assert active(dev).name == got.root.name
    assert not sentinel.exists() and not (Path.home() / "pwned").exists()


def test_unknown_host_key_is_refused_then_trusted_on_request(server: SshServer, tmp_path: Path) -> None:
    kh = tmp_path / "kh" / "known_hosts"
    plain = SshTarget.parse(server.target, port=server.port, identity=server.identity, known_hosts=kh)
    with pytest.raises(HostKeyError, match="not in .*trust-on-first-use"):
        SshRemote(plain)
    assert not kh.exists()  # nothing recorded silently
    tofu = SshTarget.parse(server.target, port=server.port, identity=server.identity, known_hosts=kh,
                           trust_on_first_use=True)
    with SshRemote(tofu) as r:
        assert r.accepted_keys and "SHA256:" in r.accepted_keys[0]
        assert r.run(["echo", "ok"]).stdout == "ok\n"
    assert f"[127.0.0.1]:{server.port} ssh-ed25519 " in kh.read_text()
    with SshRemote(plain) as r:  # now known: accepted without the flag
        assert r.accepted_keys == []


def test_changed_host_key_is_always_refused(server: SshServer, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    pub = (tmp_path / "other.pub").read_text().split()
    kh.write_text(f"[127.0.0.1]:{server.port} {pub[0]} {pub[1]}\n")
    t = SshTarget.parse(server.target, port=server.port, identity=server.identity, known_hosts=kh,
                        trust_on_first_use=True)
    with pytest.raises(HostKeyError, match="CHANGED"):
        SshRemote(t)


def test_run_returns_status_and_separates_streams(target: SshTarget) -> None:
    with SshRemote(target) as r:
        res = r.run(["sh", "-c", 'echo out; echo err >&2; exit 7'], check=False)
        assert (res.returncode, res.stdout, res.stderr) == (7, "out\n", "err\n")
        big = r.run(["head", "-c", "300000", "/dev/zero"])  # more than one window of output
        assert len(big.stdout) == 300000


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.run([sys.executable, "-m", "edgekit.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_flash_json_and_rollback(tiny_bundle: Path, server: SshServer, tmp_path: Path) -> None:
    import json

    dev = tmp_path / "device"
    common = ["--host", server.target, "--port", str(server.port), "--identity", str(server.identity),
              "--known-hosts", str(server.known_hosts), "--remote-dir", str(dev)]
    p = _cli("flash", str(tiny_bundle), *common, "--no-runtime", "--json")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert rep["active"] == f"bundles/{rep['bundle_id']}" and rep["transfer"]["files_sent"] > 0
    p = _cli("flash", "--rollback", *common)
    assert p.returncode == 2 and "no previous bundle" in p.stderr and p.stderr.count("\n") == 1, p.stderr


def test_cli_unknown_host_key_one_line_error(tiny_bundle: Path, server: SshServer, tmp_path: Path) -> None:
    p = _cli("flash", str(tiny_bundle), "--host", server.target, "--port", str(server.port), "--identity",
             str(server.identity), "--known-hosts", str(tmp_path / "empty"),
             "--remote-dir", str(tmp_path / "d"))
    assert p.returncode == 2 and "is not in" in p.stderr and "--trust-on-first-use" in p.stderr
    assert p.stderr.count("\n") == 1 and not (tmp_path / "d").exists()


def test_cli_dry_run_prints_commands_and_connects_to_nothing(tiny_bundle: Path, tmp_path: Path) -> None:
    evil = tmp_path / "d $(touch pwned)"
    p = _cli("flash", str(tiny_bundle), "--host", "nobody@127.0.0.1", "--port", "1",
             "--remote-dir", str(evil), "--dry-run")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    for needle in ("sha256sum", "sftp posix-rename", "sftp put", "device_build.py",
                   "edgekit-infer"):
        assert needle in out, needle
    assert "'" in out and not evil.exists() and not Path("pwned").exists()


def test_jetson_bundle_reports_tensorrt_absent(tiny_bundle: Path, target: SshTarget, tmp_path: Path) -> None:
    """The probe really runs on the device (this machine has no TensorRT): the step says so, plainly."""
    src = variant(tiny_bundle, tmp_path / "orin")
    b = B.load(src, verify=False)
    b.manifest.device = "jetson-orin-nano"
    B.write_manifest(src, b.manifest)
    rep = flash(src, target, opts(tmp_path / "device"))
    eng = {s.name: s for s in rep.steps}["engine"]
    assert (eng.status, eng.detail) == ("absent", "TensorRT absent on device: engine not built")
