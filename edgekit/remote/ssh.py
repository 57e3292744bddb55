"""SSH transport on paramiko: exec for commands (every argument shell-quoted), SFTP for files.

Host keys are checked against known_hosts. An unknown key is refused unless the caller asked for
trust-on-first-use, which appends the new key to known_hosts (one line; the rest of the file is left
alone). A key that differs from the recorded one is always refused.
"""

from __future__ import annotations

import contextlib
import os
import select
import stat
import time
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

import paramiko

from edgekit.remote.base import Progress, RunResult
from edgekit.remote.errors import ConnectionLost, HostKeyError, RemoteError
from edgekit.remote.target import SshTarget, shell_command

CHUNK = 1 << 15


def fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint  # "SHA256:..." as ssh-keygen -l prints it


class _RefuseUnknown(paramiko.MissingHostKeyPolicy):
    def __init__(self, target: SshTarget) -> None:
        self.target = target

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise HostKeyError(
            f"host key of {hostname} ({key.get_name()} {fingerprint(key)}) "
            f"is not in {self.target.known_hosts}",
            "check the fingerprint on the device (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then re-run "
            "with --trust-on-first-use to record it, or add it to known_hosts yourself",
        )


class _TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """Accept an unknown key and append it to known_hosts; ``accepted`` records what was accepted."""

    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self.accepted: list[str] = []

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        kh = self.target.known_hosts
        kh.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(kh, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)
        self.accepted.append(f"{hostname} {key.get_name()} {fingerprint(key)}")


class SshRemote:
    """A connected device. Use as a context manager, or call ``close()``."""

    dry_run = False

    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self.display = target.display
        self.accepted_keys: list[str] = []
        self._client = paramiko.SSHClient()
        self._sftp: paramiko.SFTPClient | None = None
        self._connect()

    # -- connection -------------------------------------------------------------------------------
    def _connect(self) -> None:
        t = self.target
        client = self._client
        if t.known_hosts.is_file():
            try:
                client.load_host_keys(str(t.known_hosts))
            except (OSError, paramiko.SSHException) as exc:
                raise HostKeyError(f"cannot read known_hosts {t.known_hosts}: {exc}",
                                   "fix or move that file") from exc
        policy: paramiko.MissingHostKeyPolicy = (
            _TrustOnFirstUse(t) if t.trust_on_first_use else _RefuseUnknown(t))
        client.set_missing_host_key_policy(policy)
        try:
            client.connect(
                t.host, port=t.port, username=t.user,
                key_filename=str(t.identity) if t.identity else None,
                look_for_keys=t.identity is None, allow_agent=t.identity is None,
                timeout=t.connect_timeout, banner_timeout=t.connect_timeout, auth_timeout=t.connect_timeout,
            )
        except HostKeyError:
            raise
        except paramiko.BadHostKeyException as exc:
            raise HostKeyError(
                f"host key of {t.host}:{t.port} CHANGED: got {fingerprint(exc.key)}, known_hosts has "
                f"{fingerprint(exc.expected_key)} — possible man-in-the-middle",
                f"if the device was re-installed, remove its old line from {t.known_hosts} (ssh-keygen -R)",
            ) from exc
        except paramiko.PasswordRequiredException as exc:
            raise RemoteError(f"the SSH key for {t.display} is passphrase-protected",
                              "load it into ssh-agent (ssh-add) and leave out --identity") from exc
        except paramiko.AuthenticationException as exc:
            raise RemoteError(f"{t.display} refused our SSH key ({exc})",
                              "pass the right key with --identity, or install it with ssh-copy-id") from exc
        except (TimeoutError, OSError, paramiko.SSHException, EOFError) as exc:
            raise RemoteError(f"cannot connect to {t.display}: {exc or type(exc).__name__}",
                              "check the host name, --port, the network and sshd on the device") from exc
        if isinstance(policy, _TrustOnFirstUse):
            self.accepted_keys = policy.accepted

    def _lost(self, what: str, exc: BaseException) -> ConnectionLost:
        return ConnectionLost(f"connection to {self.display} lost during {what}: {exc or type(exc).__name__}",
                              "re-run the same command: it resumes where it stopped")

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            try:
                self._sftp = self._client.open_sftp()
            except (OSError, paramiko.SSHException, EOFError) as exc:
                raise self._lost("opening SFTP", exc) from exc
        return self._sftp

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._sftp is not None:
                self._sftp.close()
        with contextlib.suppress(Exception):
            self._client.close()

    def __enter__(self) -> SshRemote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands ---------------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> RunResult:
        """Run one command; every element of ``argv`` is quoted. stdout and stderr are read together."""
        cmd = shell_command(argv, cwd=cwd, env=env)
        out, err = bytearray(), bytearray()
        try:
            transport = self._client.get_transport()
            if transport is None or not transport.is_active():
                raise EOFError("transport closed")
            chan = transport.open_session()
            chan.exec_command(cmd)
            deadline = time.monotonic() + timeout if timeout else None
            while True:
                while chan.recv_ready():
                    out += chan.recv(CHUNK)
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(CHUNK)
                drained = not chan.recv_ready() and not chan.recv_stderr_ready()
                # all output arrives before EOF; the exit status may come before the last data: wait for both
                if drained and chan.eof_received and chan.exit_status_ready():
                    break
                if drained and chan.closed:
                    if chan.exit_status_ready():
                        break
                    raise EOFError("channel closed before the command finished")
                if deadline and time.monotonic() > deadline:
                    chan.close()
                    raise RemoteError(f"remote command timed out after {timeout:g} s: {argv[0]}",
                                      "check the device, or raise the timeout")
                # stdout data, EOF and close wake the channel's pipe; stderr alone does not: poll it
                select.select([chan], [], [], 0.05)
            rc = chan.recv_exit_status()
            chan.close()
        except RemoteError:
            raise
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._lost(f"'{argv[0]}'", exc) from exc
        res = RunResult(tuple(argv), rc, out.decode(errors="replace"), err.decode(errors="replace"))
        if check and rc != 0:
            last = (res.stderr.strip() or res.stdout.strip()).splitlines()[-1:] or [""]
            raise RemoteError(f"remote command {argv[0]} failed on {self.display} (exit {rc}): "
                              f"{last[0][:300]}",
                              "see the message; re-run with --dry-run to see every remote command")
        return res

    # -- files ------------------------------------------------------------------------------------
    def put(self, local: Path, remote: str, offset: int = 0, progress: Progress | None = None) -> int:
        """Copy ``local`` to ``remote`` starting at byte ``offset`` (resume); returns the bytes sent."""
        try:
            src = local.open("rb")
        except OSError as exc:
            raise RemoteError(f"cannot read {local}: {exc}", "check the local file") from exc
        sent = 0
        with src:
            try:
                with self.sftp.open(remote, "r+b" if offset else "wb") as dst:
                    dst.set_pipelined(True)
                    if offset:
                        src.seek(offset)
                        dst.seek(offset)
                    for chunk in iter(lambda: src.read(CHUNK), b""):
                        dst.write(chunk)
                        sent += len(chunk)
                        if progress:
                            progress(len(chunk))
            except (OSError, paramiko.SSHException, EOFError) as exc:
                raise self._lost(f"upload of {remote}", exc) from exc
        return sent

    def get(self, remote: str, local: Path) -> None:
        """Copy one remote file to ``local`` through a temporary sibling, renamed on success."""
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".{local.name}.part")
        try:
            self.sftp.get(remote, str(tmp))
        except FileNotFoundError as exc:
            tmp.unlink(missing_ok=True)
            raise RemoteError(f"{remote} does not exist on {self.display}", "check the remote path") from exc
        except (OSError, paramiko.SSHException, EOFError) as exc:
            tmp.unlink(missing_ok=True)
            raise self._lost(f"download of {remote}", exc) from exc
        os.replace(tmp, local)

    def _stat(self, remote: str) -> paramiko.SFTPAttributes | None:
        try:
            return self.sftp.stat(remote)
        except FileNotFoundError:
            return None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._lost(f"stat of {remote}", exc) from exc

    def exists(self, remote: str) -> bool:
        return self._stat(remote) is not None

    def size(self, remote: str) -> int | None:
        st = self._stat(remote)
        if st is None or st.st_mode is None or not stat.S_ISREG(st.st_mode):
            return None
        return int(st.st_size or 0)

    def readlink(self, remote: str) -> str | None:
        """A symlink's target, or None when ``remote`` does not exist or is not a symlink."""
        try:
            return self.sftp.readlink(remote)
        except (FileNotFoundError, PermissionError):
            return None
        except OSError as exc:
            if getattr(exc, "errno", None) is None or exc.errno in (2, 22):
                return None
            raise self._lost(f"readlink of {remote}", exc) from exc
        except (paramiko.SSHException, EOFError) as exc:
            raise self._lost(f"readlink of {remote}", exc) from exc

    def symlink(self, target: str, link: str) -> None:
        try:
            self.sftp.symlink(target, link)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise RemoteError(f"cannot create symlink {link} on {self.display}: {exc}",
                              "check the remote folder's permissions") from exc

    def rename(self, src: str, dst: str) -> None:
        """rename(2) on the device (OpenSSH's posix-rename): replaces ``dst`` atomically."""
        try:
            self.sftp.posix_rename(src, dst)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise RemoteError(f"cannot rename {src} to {dst} on {self.display}: {exc}",
                              "check the remote folder's permissions") from exc

    def listdir(self, remote: str) -> list[str]:
        try:
            return sorted(self.sftp.listdir(remote))
        except FileNotFoundError:
            return []
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._lost(f"listing of {remote}", exc) from exc

    def fetch_dir(self, remote: str, local: Path) -> list[Path]:
        """Copy a remote folder tree to ``local`` (regular files only); returns the local files written."""
        got: list[Path] = []
        try:
            entries = self.sftp.listdir_attr(remote)
        except FileNotFoundError as exc:
            raise RemoteError(f"folder {remote} does not exist on {self.display}",
                              "check the remote path") from exc
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._lost(f"listing of {remote}", exc) from exc
        local.mkdir(parents=True, exist_ok=True)
        for e in entries:
            if e.filename in (".", "..") or "/" in e.filename:
                continue
            rpath = str(PurePosixPath(remote) / e.filename)
            if e.st_mode is not None and stat.S_ISDIR(e.st_mode):
                got += self.fetch_dir(rpath, local / e.filename)
            elif e.st_mode is not None and stat.S_ISREG(e.st_mode):
                self.get(rpath, local / e.filename)
                got.append(local / e.filename)
        return got
