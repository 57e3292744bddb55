"""Where a device is: ``user@host`` plus port, key and known_hosts, and how one remote command is quoted."""

from __future__ import annotations

import getpass
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
        port: int = 22,
        identity: str | Path | None = None,
        known_hosts: str | Path | None = None,
        trust_on_first_use: bool = False,
    ) -> SshTarget:
        """Parse ``[user@]host``; the user defaults to the local one, as ssh does."""
        user, sep, host = spec.rpartition("@")
        if not sep:
            user = getpass.getuser()
        if not host or any(c.isspace() for c in spec) or host.startswith("-") or user.startswith("-"):
            raise InputError(f"--host '{spec}' is not a valid [user@]host",
                             "pass it as user@hostname, e.g. nvidia@jetson.local")
        if not 0 < port < 65536:
            raise InputError(f"--port {port} is out of range", "pass a TCP port between 1 and 65535")
        ident = Path(identity).expanduser() if identity else None
        if ident is not None and not ident.is_file():
            raise InputError(f"identity file {ident} does not exist",
                             "pass the private key with --identity PATH")
        kh = Path(known_hosts).expanduser() if known_hosts else Path.home() / ".ssh" / "known_hosts"
        return cls(host=host, user=user, port=port, identity=ident, known_hosts=kh,
                   trust_on_first_use=trust_on_first_use)

    @property
    def display(self) -> str:
        return f"{self.user}@{self.host}" + (f":{self.port}" if self.port != 22 else "")


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
