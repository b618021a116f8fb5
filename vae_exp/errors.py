"""Errors that mean the user asked for something that cannot work.

Entry points catch `UserError` and print its message without a traceback: the
message alone must tell the user what to change.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's settings or files, not a bug in vae-exp."""


class ConfigError(UserError):
    """A setting has a value that is not allowed."""

    def __init__(self, setting: str, value: object, allowed: str) -> None:
        self.setting = setting
        self.value = value
        self.allowed = allowed
        super().__init__(f"{setting}={value!r} is not allowed: {allowed}")


class DataError(UserError):
    """The data set cannot be found, fetched or read."""
