"""Where things live on the device, under one remote folder (default ``~/edgekit``)::

    bundles/<name>-<manifest sha256[:12]>/   complete, verified bundles
    staging/<id>/                            an upload in progress (partial files kept, so a re-run resumes)
    current -> bundles/<id>                  the active bundle (a symlink, swapped by rename: atomic)
    previous -> bundles/<id>                 the one before it, for ``--rollback``
    runtime/src/                             C++ runtime sources; runtime/FINGERPRINT when built from them
    reports/                                 parity reports written on the device
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass

from edgekit.bundle import MANIFEST, Bundle
from edgekit.errors import BundleError


@dataclass(frozen=True)
class RemoteLayout:
    root: str

    def join(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    @property
    def bundles(self) -> str:
        return self.join("bundles")

    @property
    def staging(self) -> str:
        return self.join("staging")

    def bundle_dir(self, bundle_id: str) -> str:
        return self.join("bundles", bundle_id)

    def staging_dir(self, bundle_id: str) -> str:
        return self.join("staging", bundle_id)

    @property
    def current(self) -> str:
        return self.join("current")

    @property
    def previous(self) -> str:
        return self.join("previous")

    @property
    def runtime(self) -> str:
        return self.join("runtime")

    @property
    def runtime_src(self) -> str:
        return self.join("runtime", "src")

    @property
    def fingerprint(self) -> str:
        return self.join("runtime", "FINGERPRINT")

    @property
    def reports(self) -> str:
        return self.join("reports")


def bundle_id(bundle: Bundle) -> str:
    """``<name>-<first 12 hex of the manifest's sha256>``: names a bundle's exact content."""
    digest = hashlib.sha256((bundle.root / MANIFEST).read_bytes()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", bundle.manifest.name).strip("._-") or "bundle"
    return f"{name[:60]}-{digest}"


def check_rel(rel: str) -> str:
    """A manifest file path that stays inside the bundle folder on any device, or a BundleError."""
    parts = rel.split("/")
    bad = (
        not rel or rel.startswith("/") or "\\" in rel or any(c in rel for c in "\n\r\0")
        or any(p in ("", ".", "..") for p in parts)
    )
    if bad:
        raise BundleError(f"manifest lists an unsafe file path {rel!r}",
                          "rebuild the bundle: paths must be relative, without '..', newlines or backslashes")
    return rel
