"""A real OpenSSH server on 127.0.0.1 for tests: its own config, host key, port and a throwaway user key.

It runs as the current user (root or not) with ``StrictModes no`` and ``AuthorizedKeysFile`` in the temp
folder, so it needs no system service and touches nothing outside ``root``::

    with SshServer(tmp_path) as srv:
        srv.target      # "user@127.0.0.1"
        srv.port, srv.identity, srv.known_hosts (already holding the server's key)
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def available() -> str | None:
    """None when a test sshd can run here, else the reason it cannot."""
    if not Path(SSHD).is_file():
        return f"{SSHD} is missing (apt-get install openssh-server, or run tools/setup.sh)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen is missing (apt-get install openssh-client)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


class SshServer:
    def __init__(self, root: Path, extra_config: tuple[str, ...] = ()) -> None:
        self.root = Path(root)
        self.extra_config = tuple(extra_config)  # more sshd_config lines, e.g. "SetEnv NAME=value"
        self.root.mkdir(parents=True, exist_ok=True)
        self.user = getpass.getuser()
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.host_key = self.root / "ssh_host_ed25519_key"
        self.identity = self.root / "id_user"
        self.known_hosts = self.root / "known_hosts"
        self.log = self.root / "sshd.log"

    @property
    def target(self) -> str:
        return f"{self.user}@{self.host}"

    def start(self) -> SshServer:
        if not self.host_key.exists():
            _keygen(self.host_key)
            _keygen(self.identity)
            (self.root / "authorized_keys").write_text(Path(str(self.identity) + ".pub").read_text())
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd as root wants its privsep folder
        self.port = _free_port()
        cfg = self.root / "sshd_config"
        cfg.write_text(
            "\n".join(
                [
                    f"ListenAddress {self.host}",
                    f"Port {self.port}",
                    f"HostKey {self.host_key}",
                    f"PidFile {self.root / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.root / 'authorized_keys'}",
                    "StrictModes no",
                    "UsePAM no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    "Subsystem sftp internal-sftp",
                    "LogLevel ERROR",
                    "MaxStartups 50",
                    *self.extra_config,
                    "",
                ]
            )
        )
        self.proc = subprocess.Popen(
            [SSHD, "-f", str(cfg), "-D", "-e", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=self.log.open("ab"), start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("sshd did not start listening within 10 s")
        pub = Path(str(self.host_key) + ".pub").read_text().split()
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {pub[0]} {pub[1]}\n")
        return self

    def session_pids(self) -> list[int]:
        """Process ids of the per-connection children of this sshd (the sessions)."""
        if self.proc is None:
            return []
        kids: list[int] = []
        todo = [self.proc.pid]
        while todo:
            parent = todo.pop()
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == parent:
                    pid = int(stat.parent.name)
                    kids.append(pid)
                    todo.append(pid)
        return kids

    def kill_sessions(self) -> int:
        """SIGKILL every open session (a dropped connection, as the client sees it); the listener stays."""
        pids = self.session_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill_sessions()
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> SshServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
