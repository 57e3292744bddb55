"""Errors raised by the SSH transport."""

from __future__ import annotations

from edgekit.errors import EdgekitError


class RemoteError(EdgekitError):
    """The device cannot be reached, refused us, or a remote command failed."""


class HostKeyError(RemoteError):
    """The device's host key is unknown or does not match known_hosts."""


class ConnectionLost(RemoteError):
    """The connection dropped in the middle of an operation."""

    exit_code = 3
