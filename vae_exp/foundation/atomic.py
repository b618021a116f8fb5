"""Writing files so that a reader finds the old version or the new one, never half of one.

Each file is written under a temporary name in its own folder, flushed to disk
and renamed over the target: the rename is atomic on one filesystem, and a
write that fails (a full disk, an interruption) removes its temporary file and
leaves the previous version in place. (`vae_exp.runs.checkpoint_io` writes
checkpoints this way.)
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from vae_exp.foundation.errors import UserError


class DiskFullError(UserError):
    """A file could not be written because its filesystem is full."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no space left on the device for {path}: it was not written, and its previous "
            "version (if any) is unchanged. Free some space and resume the run."
        )


def temporary_name(name: str) -> str:
    """`.NAME.PID.tmp`, with NAME cut short so that it fits wherever `name` itself fits."""
    ending = f".{os.getpid()}.tmp"
    encoded = os.fsencode(name)
    room = max(len(encoded) - len(ending) - 1, 1)
    short = os.fsdecode(encoded[:room]) if len(encoded) + len(ending) + 1 > 255 else name
    return f".{short}{ending}"


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; on success it replaces `path` in one rename."""
    path = Path(path)
    temporary = path.with_name(temporary_name(path.name))
    try:
        with open(temporary, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            raise DiskFullError(path) from None
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)
