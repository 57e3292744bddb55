"""The remote executor for ``edgekit parity --host``: runs ``edgekit-infer`` on the device over SSH.

It implements :class:`edgekit.parity.executor.Executor` and registers itself with
``register_remote_executor`` when imported. It expects the layout ``edgekit flash`` creates: the bundle in
``<remote-dir>/bundles/<id>`` and the runtime built in ``<remote-dir>/runtime/src``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgekit import bundle as B
from edgekit.errors import EdgekitError
from edgekit.flash.layout import RemoteLayout, bundle_id
from edgekit.flash.runtime import remote_binary
from edgekit.remote.base import Remote
from edgekit.remote.errors import RemoteError
from edgekit.remote.ssh import SshRemote
from edgekit.remote.target import SshTarget, remote_path


class SshExecutor:
    """Run argvs on the device and fetch folders back, through one SSH connection."""

    def __init__(self, remote: Remote, remote_dir: str = "edgekit", owns: bool = False) -> None:
        self.remote = remote
        self.name = remote.display
        self.layout = RemoteLayout(remote_path(remote_dir).rstrip("/") or "/")
        self._owns = owns
        self._binary: str | None = None

    def _missing(self, what: str, fix: str) -> EdgekitError:
        from edgekit.parity.executor import RuntimeNotFound

        return RuntimeNotFound(f"{what} on {self.name} under {self.layout.root}", fix)

    def binary(self) -> str:
        if self._binary is None:
            b = remote_binary(self.layout)
            if not self.remote.dry_run and not self.remote.run(["test", "-x", b], check=False).ok:
                raise self._missing("the C++ runtime is not built",
                                    "run `edgekit flash BUNDLE --host ...` first: it builds the runtime")
            self._binary = b
        return self._binary

    def bundle_path(self, local_bundle: Path) -> str:
        bid = bundle_id(B.load(local_bundle, verify=False))
        path = self.layout.bundle_dir(bid)
        if not self.remote.dry_run and not self.remote.exists(posixpath.join(path, B.MANIFEST)):
            raise self._missing(f"bundle {bid} is not flashed",
                                "run `edgekit flash BUNDLE --host ...` first, with the same --remote-dir")
        return path

    def mkdtemp(self) -> str:
        res = self.remote.run(["mktemp", "-d", "-t", "edgekit-parity.XXXXXXXX"], check=False)
        path = res.stdout.strip()
        if self.remote.dry_run:
            return "/tmp/edgekit-parity.XXXXXXXX"
        if not res.ok or not path.startswith("/"):
            raise RemoteError(f"cannot make a temporary folder on {self.name}: {res.stderr.strip()[:200]}",
                              "check the device's /tmp (space, permissions)")
        return path

    def run(self, argv: Sequence[str], timeout: float) -> Any:
        from edgekit.parity.executor import ExecResult

        try:
            res = self.remote.run(list(argv), check=False, timeout=timeout)
        except RemoteError as exc:
            if "timed out" in exc.message:
                return ExecResult(124, "", f"error: timed out after {timeout:g} s")
            raise
        return ExecResult(res.returncode, res.stdout, res.stderr)

    def fetch(self, remote_dir: str, local_dir: Path) -> None:
        self.remote.fetch_dir(remote_dir, Path(local_dir))

    def cleanup(self, remote_dir: str) -> None:
        if remote_dir.startswith("/") and "edgekit-parity." in remote_dir:
            self.remote.run(["rm", "-rf", "--", remote_dir], check=False)

    def close(self) -> None:
        if self._owns:
            self.remote.close()


def make_executor(host: str, local_bundle: Path, **opts: Any) -> SshExecutor:
    """The factory parity calls: ``host`` is ``[user@]host``; ``opts`` may carry port, identity,
    known_hosts, trust_on_first_use and remote_dir (defaults: 22, ssh's keys, ~/.ssh/known_hosts, no,
    edgekit)."""
    remote_dir = opts.pop("remote_dir", None) or "edgekit"
    target = SshTarget.parse(host, **{k: v for k, v in opts.items() if v is not None})
    return SshExecutor(SshRemote(target), remote_dir, owns=True)


def register() -> None:
    from edgekit.parity.executor import register_remote_executor

    register_remote_executor(make_executor)


register()
