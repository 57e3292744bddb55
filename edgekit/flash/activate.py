"""Switching the active bundle on the device: ``current`` and ``previous`` are symlinks into ``bundles/``,
each replaced by creating ``<name>.new`` and renaming it over the old link (SFTP posix-rename, one
rename(2)), so a reader always sees a complete bundle, before or after."""

from __future__ import annotations

import posixpath

from edgekit.flash.errors import FlashError
from edgekit.flash.layout import RemoteLayout
from edgekit.remote.base import Remote


def read_link(remote: Remote, layout: RemoteLayout, name: str) -> str | None:
    """The target of ``current``/``previous`` (relative, e.g. ``bundles/x``), or None when absent."""
    return remote.readlink(layout.join(name)) or None


def swap_link(remote: Remote, layout: RemoteLayout, name: str, target: str) -> None:
    """Point symlink ``name`` at ``target`` atomically: a new link, renamed over the old one."""
    tmp = layout.join(f"{name}.new")
    if remote.readlink(tmp) is not None or remote.exists(tmp):
        remote.run(["rm", "-f", "--", tmp])  # left over from an interrupted swap
    remote.symlink(target, tmp)
    remote.rename(tmp, layout.join(name))


def rel_bundle(bundle_id: str) -> str:
    return posixpath.join("bundles", bundle_id)


def activate(remote: Remote, layout: RemoteLayout, bundle_id: str) -> tuple[str | None, bool]:
    """Make ``bundles/<bundle_id>`` current; the old current becomes previous.

    Returns (the previous target, whether anything changed)."""
    new = rel_bundle(bundle_id)
    old = read_link(remote, layout, "current")
    if old == new:
        return read_link(remote, layout, "previous"), False
    if old is not None:
        swap_link(remote, layout, "previous", old)
    swap_link(remote, layout, "current", new)
    return old, True


def rollback_targets(remote: Remote, layout: RemoteLayout) -> tuple[str | None, str]:
    """(current, previous) for a rollback; raises FlashError when there is nothing to roll back to."""
    cur = read_link(remote, layout, "current")
    prev = read_link(remote, layout, "previous")
    if prev is None and not remote.dry_run:
        raise FlashError(f"{remote.display} has no previous bundle under {layout.root}",
                         "there is nothing to roll back to: flash another bundle first")
    return cur, prev or "bundles/<previous>"


def swap_back(remote: Remote, layout: RemoteLayout, cur: str | None, prev: str) -> None:
    """Make ``prev`` current and ``cur`` previous (a second rollback undoes the first)."""
    swap_link(remote, layout, "current", prev)
    if cur is not None:
        swap_link(remote, layout, "previous", cur)


def prune(remote: Remote, layout: RemoteLayout, keep: set[str]) -> list[str]:
    """Delete bundles other than ``keep`` (names under bundles/); returns what was removed."""
    drop = [n for n in remote.listdir(layout.bundles) if n not in keep and "/" not in n]
    if drop:
        remote.run(["rm", "-rf", "--", *[rel_bundle(n) for n in drop]], cwd=layout.root)
    return drop
