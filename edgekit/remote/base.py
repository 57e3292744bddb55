"""What flash and parity need from a device: run an argv, move files, ask whether a path exists."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RunResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Remote(Protocol):
    """A device reached over some transport. Remote paths are absolute or relative to the login home."""

    dry_run: bool
    display: str

    def run(
        self,
        argv: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> RunResult: ...

    def put(self, local: Path, remote: str, offset: int = 0, progress: Progress | None = None) -> int: ...

    def get(self, remote: str, local: Path) -> None: ...

    def exists(self, remote: str) -> bool: ...

    def size(self, remote: str) -> int | None: ...

    def readlink(self, remote: str) -> str | None: ...

    def symlink(self, target: str, link: str) -> None: ...

    def rename(self, src: str, dst: str) -> None:
        """Atomic replace of ``dst`` (rename(2))."""
        ...

    def listdir(self, remote: str) -> list[str]: ...

    def fetch_dir(self, remote: str, local: Path) -> list[Path]: ...

    def close(self) -> None: ...
