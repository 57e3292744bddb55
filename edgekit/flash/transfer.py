"""Resumable, checksummed upload of a bundle into its staging folder on the device, and the remote check.

A file already on the device with the right size is kept; a shorter one is continued from its end (a
dropped connection); a longer one is sent again. Nothing is trusted until ``verify_remote`` has compared
every file's sha256 on the device with the manifest; a file that does not match is deleted so that the
next run sends it again.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from edgekit.bundle import MANIFEST, Bundle, sha256_file
from edgekit.flash.errors import FlashError, TransferCorrupt
from edgekit.flash.layout import check_rel
from edgekit.remote.base import Remote


@dataclass
class TransferStats:
    files_total: int = 0
    files_sent: int = 0
    files_resumed: int = 0
    files_kept: int = 0
    bytes_total: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0

    @property
    def mib_per_s(self) -> float:
        return self.bytes_sent / (1 << 20) / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "mib_per_s": round(self.mib_per_s, 2)}


def bundle_files(bundle: Bundle) -> dict[str, tuple[str, int]]:
    """Every file to send, ``rel -> (sha256, size)``, the manifest last."""
    files = {check_rel(rel): (e.sha256, e.size) for rel, e in sorted(bundle.manifest.files.items())}
    mpath = bundle.root / MANIFEST
    files[MANIFEST] = (sha256_file(mpath), mpath.stat().st_size)
    return files


def upload(
    remote: Remote, bundle: Bundle, dest: str, on_bytes: Callable[[int], None] | None = None
) -> TransferStats:
    """Send the bundle's files into remote folder ``dest`` (created), resuming partial files."""
    return upload_files(remote, bundle.root, bundle_files(bundle), dest, on_bytes)


def upload_files(
    remote: Remote,
    local_root: Path,
    files: dict[str, tuple[str, int]],
    dest: str,
    on_bytes: Callable[[int], None] | None = None,
    skip: set[str] | None = None,
) -> TransferStats:
    """Send ``files`` (``rel -> (sha256, size)``, in order) from ``local_root`` into remote ``dest``.

    A remote file of the right size is kept (``verify_remote`` checks it later), a shorter one is
    continued from its end, anything else is sent whole. Names in ``skip`` are known good and not sent."""
    stats = TransferStats(files_total=len(files), bytes_total=sum(s for _, s in files.values()))
    t0 = time.perf_counter()
    dirs = sorted({posixpath.dirname(rel) for rel in files} - {""})
    remote.run(["mkdir", "-p", "--", dest, *[posixpath.join(dest, d) for d in dirs]])
    for rel, (_, size) in files.items():
        target = posixpath.join(dest, rel)
        have = size if skip and rel in skip else remote.size(target)
        if have == size:
            stats.files_kept += 1
            if on_bytes:
                on_bytes(size)
            continue
        offset = have if have is not None and 0 < have < size else 0
        if offset:
            stats.files_resumed += 1
            if on_bytes:
                on_bytes(offset)
        stats.bytes_sent += remote.put(local_root / rel, target, offset=offset, progress=on_bytes)
        stats.files_sent += 1
    stats.seconds = time.perf_counter() - t0
    return stats


def remote_sha256(remote: Remote, folder: str, rels: list[str]) -> dict[str, str | None]:
    """sha256 of each file in ``folder`` on the device (``None`` for a missing file), via ``sha256sum``."""
    if remote.dry_run:
        remote.run(["sha256sum", "--", *rels], cwd=folder, check=False)
        return dict.fromkeys(rels)
    res = remote.run(["sha256sum", "--", *rels], cwd=folder, check=False)
    if res.returncode == 127 or "not found" in res.stderr and "sha256sum" in res.stderr:
        raise FlashError(f"sha256sum is missing on {remote.display}",
                         "install coreutils on the device (apt-get install coreutils)")
    got: dict[str, str | None] = dict.fromkeys(rels)
    for line in res.stdout.splitlines():
        digest, sep, name = line.partition("  ")
        if sep and name in got and len(digest) == 64:
            got[name] = digest
    return got


def verify_remote(
    remote: Remote,
    folder: str,
    bundle: Bundle | dict[str, tuple[str, int]],
    delete_bad: bool = True,
    consequence: str = "the bundle was NOT activated",
) -> int:
    """Check every file of ``bundle`` (or a ``rel -> (sha256, size)`` map) in remote ``folder`` by sha256;
    delete and report mismatches. Returns the number of files checked; raises TransferCorrupt naming them."""
    files = bundle if isinstance(bundle, dict) else bundle_files(bundle)
    got = remote_sha256(remote, folder, list(files))
    if remote.dry_run:
        return len(files)
    bad = [rel for rel, (sha, _) in files.items() if got.get(rel) != sha]
    if bad:
        if delete_bad:
            remote.run(["rm", "-f", "--", *bad], cwd=folder, check=False)
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise TransferCorrupt(
            f"{len(bad)} file(s) on {remote.display} do not match their sha256 after transfer: {shown}; "
            f"{consequence}",
            "re-run the same flash command: the bad files were removed and will be sent again",
        )
    return len(files)
