"""Result files: checked before the work starts, written atomically (temporary sibling + rename).

* ``check_output_file(path, option)``: a ``--json``/``--output``/``--parity-out`` FILE that is a folder,
  sits under a file, or whose folder cannot be written fails here, before minutes of work are spent.
* ``check_output_dir(path, option)``: the same for an ``--out`` FOLDER (it may exist; whether it may be
  *replaced* is ``edgekit.bundle.check_replaceable``'s question).
* ``atomic_write_text/bytes/json``: every result file goes through these. A reader sees the old file or the
  new one, never half of one; a failure leaves no temporary behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from edgekit.errors import EdgekitError


class OutputPathError(EdgekitError):
    """An output path that cannot be written (a folder, under a file, unwritable)."""

    exit_code = 2


def _nearest_existing(p: Path) -> Path:
    q = p
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def _probe_writable(folder: Path) -> bool:
    """Really create (and remove) a file: os.access says yes to root on a read-only mount or /proc."""
    try:
        fd, name = tempfile.mkstemp(prefix=".edgekit-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return True


def _check_parents(p: Path, option: str, what: str) -> None:
    anc = _nearest_existing(p.parent)
    if not anc.is_dir():
        raise OutputPathError(
            f"{option} {p}: {anc} is a file, so the {what} cannot be created under it",
            f"pass a {what} path outside {anc}",
        )
    if not _probe_writable(anc):
        raise OutputPathError(
            f"{option} {p}: folder {anc} is not writable", f"pass a {what} path in a folder you can write"
        )


def check_output_file(path: str | Path | None, option: str, example: str = "out.json") -> None:
    """Fail before the work if the result FILE ``path`` could not be written ('-' and None: stdout/none)."""
    if path is None or str(path) == "-":
        return
    p = Path(path)
    if str(path).endswith(os.sep) or p.is_dir():
        raise OutputPathError(
            f"{option} {p} is a folder, not a file", f"pass a file path, e.g. {p / example}"
        )
    if p.exists() and not p.is_file():
        raise OutputPathError(f"{option} {p} is not a regular file", "pass a path to a regular file")
    _check_parents(p, option, "file")
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputPathError(f"{option} {p} is not writable", "pass another file or fix its permissions")


def check_output_dir(path: str | Path, option: str) -> None:
    """Fail before the work if the output FOLDER ``path`` is a file, sits under a file or cannot be made."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputPathError(
            f"{option} {p} is a file, not a folder",
            f"pass a folder path (not {p.name}) or move the file away",
        )
    _check_parents(p, option, "folder")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", perm: int | None = None) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path``; on success fsync and rename it onto ``path``; on any
    exception remove it (``path`` is untouched)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, perm if perm is not None else 0o666 & ~_umask())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _read_umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


_UMASK = _read_umask()


def _umask() -> int:
    return _UMASK


def atomic_write_text(path: str | Path, text: str, perm: int | None = None) -> Path:
    with atomic_open(path, "w", perm) as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes, perm: int | None = None) -> Path:
    with atomic_open(path, "wb", perm) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_json(path: str | Path, doc: Any, indent: int | None = 2) -> Path:
    return atomic_write_text(path, json.dumps(doc, indent=indent) + "\n")


def atomic_write_with(path: str | Path, writer: Callable[[Path], None], suffix: str = "") -> Path:
    """For libraries that insist on a file name (np.savez, cv2.imwrite): ``writer(tmp)`` writes a
    temporary sibling with ``suffix``, which is renamed onto ``path``; removed on failure."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + suffix, dir=p.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return p
