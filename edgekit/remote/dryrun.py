"""A stand-in device for ``--dry-run``: connects to nothing and records every remote operation.

Queries answer as a fresh device would (nothing exists yet), so the printed plan is the full one.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from edgekit.remote.base import Progress, RunResult
from edgekit.remote.target import SshTarget, shell_command


class DryRunRemote:
    dry_run = True

    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self.display = target.display
        self.commands: list[str] = []
        self.accepted_keys: list[str] = []

    def _ssh(self, cmd: str) -> str:
        """``user@host:port$ <the exact command line the device's shell gets>``."""
        return f"{self.display}$ {cmd}"

    def run(
        self,
        argv: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> RunResult:
        self.commands.append(self._ssh(shell_command(argv, cwd=cwd, env=env)))
        return RunResult(tuple(argv), 0, "", "")

    def put(self, local: Path, remote: str, offset: int = 0, progress: Progress | None = None) -> int:
        self.commands.append(f"sftp put {shlex.quote(str(local))} {shlex.quote(remote)}")
        return 0

    def get(self, remote: str, local: Path) -> None:
        self.commands.append(f"sftp get {shlex.quote(remote)} {shlex.quote(str(local))}")

    def exists(self, remote: str) -> bool:
        return False

    def size(self, remote: str) -> int | None:
        return None

    def readlink(self, remote: str) -> str | None:
        self.commands.append(f"sftp readlink {shlex.quote(remote)}")
        return None

    def symlink(self, target: str, link: str) -> None:
        self.commands.append(f"sftp symlink {shlex.quote(target)} {shlex.quote(link)}")

    def rename(self, src: str, dst: str) -> None:
        self.commands.append(f"sftp posix-rename {shlex.quote(src)} {shlex.quote(dst)}")

    def listdir(self, remote: str) -> list[str]:
        self.commands.append(f"sftp ls {shlex.quote(remote)}")
        return []

    def fetch_dir(self, remote: str, local: Path) -> list[Path]:
        self.commands.append(f"sftp get -r {shlex.quote(remote)} {shlex.quote(str(local))}")
        return []

    def close(self) -> None:
        pass
