"""Reaching a device over SSH: a target, a transport (paramiko), a dry-run recorder and the executor that
lets parity run the C++ runtime on the device."""

from edgekit.remote.base import Remote, RunResult
from edgekit.remote.dryrun import DryRunRemote
from edgekit.remote.errors import ConnectionLost, HostKeyError, RemoteError
from edgekit.remote.ssh import SshRemote
from edgekit.remote.target import SshTarget, remote_path, shell_command

__all__ = [
    "ConnectionLost", "DryRunRemote", "HostKeyError", "Remote", "RemoteError", "RunResult", "SshRemote",
    "SshTarget", "remote_path", "shell_command", "connect",
]


def connect(target: SshTarget, dry_run: bool = False) -> Remote:
    """A live SSH connection, or a recorder that connects to nothing when ``dry_run``."""
    return DryRunRemote(target) if dry_run else SshRemote(target)
