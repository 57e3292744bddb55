"""Where a device is: ``user@host`` plus port, key and known_hosts, and how one remote command is quoted."""

from __future__ import annotations

import getpass
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.errors import InputError


@dataclass(frozen=True)
class SshTarget:
    host: str
    user: str
    port: int = 22
    identity: Path | None = None
    known_hosts: Path = field(default_factory=lambda: Path.home() / ".ssh" / "known_hosts")
    trust_on_first_use: bool = False
    connect_timeout: float = 15.0

    @classmethod
    def parse(
        cls,
        spec: str,
        port: int | None = None,
        identity: str | Path | None = None,
        known_hosts: str | Path | None = None,
        trust_on_first_use: bool = False,
        ssh_config: str | Path | None = None,
    ) -> SshTarget:
        """Parse ``[user@]host``. What is not given comes from ``~/.ssh/config`` (HostName, User, Port,
        IdentityFile, as ssh reads them), then ssh's defaults: the local user and port 22."""
        user, sep, host = spec.rpartition("@")
        if not host or any(c.isspace() for c in spec) or host.startswith("-") or user.startswith("-"):
            raise InputError(f"--host '{spec}' is not a valid [user@]host",
                             "pass it as user@hostname, e.g. nvidia@jetson.local")
        cfg_path = Path(ssh_config).expanduser() if ssh_config else Path.home() / ".ssh" / "config"
        cfg = _ssh_config(host, cfg_path)
        host = str(cfg.get("hostname") or host)
        if not sep:
            user = str(cfg.get("user") or getpass.getuser())
        if port is None:
            try:
                port = int(cfg.get("port", 22))
            except ValueError:
                port = 22
        if not 0 < port < 65536:
            raise InputError(f"--port {port} is out of range", "pass a TCP port between 1 and 65535")
        ident = Path(identity).expanduser() if identity else None
        if ident is not None and not ident.is_file():
            raise InputError(f"identity file {ident} does not exist",
                             "pass the private key with --identity PATH")
        if ident is None:
            found = [Path(p).expanduser() for p in cfg.get("identityfile", [])]
            ident = next((p for p in found if p.is_file()), None)
        kh = Path(known_hosts).expanduser() if known_hosts else Path.home() / ".ssh" / "known_hosts"
        return cls(host=host, user=user, port=port, identity=ident, known_hosts=kh,
                   trust_on_first_use=trust_on_first_use)

    @property
    def display(self) -> str:
        return f"{self.user}@{self.host}" + (f":{self.port}" if self.port != 22 else "")


def _ssh_config(host: str, path: Path) -> dict[str, Any]:
    """ssh's options for ``host`` from an OpenSSH client config file ({} when there is none)."""
    if not path.is_file():
        return {}
    import paramiko

    try:
        return dict(paramiko.SSHConfig.from_path(str(path)).lookup(host))
    except Exception as exc:  # noqa: BLE001 - paramiko raises several types for a bad file
        raise InputError(f"cannot read the ssh config {path}: {exc}", "fix that file") from exc


def remote_path(path: str) -> str:
    """A remote path as SFTP and the shell both see it: ``~/x`` becomes ``x`` (relative to the login home)."""
    if path in ("~", "~/"):
        return "."
    if path.startswith("~/"):
        return path[2:] or "."
    if path.startswith("~"):
        raise InputError(f"remote path '{path}' uses ~user",
                         "use an absolute path or one relative to the login home")
    return path


def shell_command(argv: Sequence[str], cwd: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """One POSIX shell command line where every argument is quoted: nothing in a name can run.

    ``cwd`` becomes ``cd -- DIR &&`` and ``env`` goes through ``env K=V`` (also quoted).
    """
    if not argv:
        raise ValueError("empty argv")
    parts: list[str] = []
    if cwd is not None:
        parts += ["cd", "--", shlex.quote(cwd), "&&"]
    if env:
        parts.append("env")
        for k, v in env.items():
            if not k.isidentifier():
                raise ValueError(f"bad environment variable name {k!r}")
            parts.append(shlex.quote(f"{k}={v}"))
    parts += [shlex.quote(a) for a in argv]
    return " ".join(parts)
