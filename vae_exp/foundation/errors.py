"""Errors that mean the user asked for something that cannot work.

Entry points catch `UserError` and print its message without a traceback: the
message alone must tell the user what to change.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

# The exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
INTERRUPTED_EXIT = 130


class UserError(Exception):
    """A problem with the user's settings or files, not a bug in vae-exp."""


class ConfigError(UserError):
    """A setting has a value that is not allowed."""

    def __init__(self, setting: str, value: object, allowed: str) -> None:
        self.setting = setting
        self.value = value
        self.allowed = allowed
        super().__init__(f"{setting}={value!r} is not allowed: {allowed}")

    def within(self, prefix: str) -> ConfigError:
        """The same error named from the config's root, e.g. `callbacks.latent_grid.steps`."""
        return ConfigError(f"{prefix}.{self.setting}", self.value, self.allowed)


class DivergenceError(UserError):
    """Training produced a loss that is not a finite number."""


class DataError(UserError):
    """The data set cannot be found, fetched or read."""


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """In a command-line tool: print a UserError as one line on stderr and exit with 2."""
    try:
        yield
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
