"""Helpers for the flash tests (imported by name: tests/flash is on sys.path through its conftest)."""

from __future__ import annotations

import shutil
from pathlib import Path

from edgekit import bundle as B
from edgekit.flash.deploy import FlashOptions


def variant(src: Path, dest: Path, extra: dict[str, bytes] | None = None) -> Path:
    """A copy of bundle ``src`` at ``dest`` with extra files added (a different bundle id)."""
    shutil.copytree(src, dest)
    for rel, data in (extra or {}).items():
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    b = B.load(dest, verify=False)
    B.write_manifest(dest, b.manifest)
    return dest


def opts(remote_dir: Path | str, **kw: object) -> FlashOptions:
    base: dict[str, object] = {"remote_dir": str(remote_dir), "runtime": False, "engine": True,
                               "parity": False}
    base.update(kw)
    return FlashOptions(**base)  # type: ignore[arg-type]
