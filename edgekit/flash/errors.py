"""Errors of the flash workflow."""

from __future__ import annotations

from edgekit.errors import EdgekitError


class FlashError(EdgekitError):
    """A flash, verify, activate or rollback step that cannot go on."""


class TransferCorrupt(FlashError):
    """A file on the device does not match its sha256 after the transfer."""

    exit_code = 4
