"""Whether a file that claims to be an official data set file is the official file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vae_exp.foundation.errors import DataError


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require_official(path: Path, algorithm: str, expected: str) -> None:
    """DataError unless `path`'s digest is the official one."""
    if file_digest(path, algorithm) != expected:
        raise DataError(
            f"{path} has the official file's size but not its {algorithm.upper()} checksum, "
            "so it is damaged: delete it and download it again"
        )
