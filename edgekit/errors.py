"""Errors that reach the user: one clear line naming the thing and the fix."""

from __future__ import annotations


class EdgekitError(Exception):
    """A user-facing failure. ``str(err)`` is the message; ``fix`` says what to do."""

    exit_code = 2

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} — fix: {self.fix}" if self.fix else self.message


class ConfigError(EdgekitError):
    """A configuration, profile or manifest that does not validate."""


class BundleError(EdgekitError):
    """A bundle that is missing, corrupt or does not match its manifest."""


class InputError(EdgekitError):
    """An input image or tensor that cannot be used."""
