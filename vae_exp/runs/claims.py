"""One run, one folder: claiming a run or sweep folder before anything is written into it.

A folder is claimed by creating its claim file with `O_EXCL`, which succeeds
for one process only, and only in a folder that holds nothing else: two runs
started into one folder cannot both pass. While a run trains (or resumes) it
holds an advisory lock on that file, so a second process cannot resume the
same run at the same time.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import IO

from vae_exp.foundation.errors import ConfigError, UserError
from vae_exp.runs.layout import CLAIM_FILE
from vae_exp.runs.locations import make_folder


class FolderTakenError(UserError):
    """The folder already holds a run, a sweep or other files."""


def claim_folder(path: str | Path, setting: str) -> Path:
    """Make `path` (created if missing, else empty) this process's; refuse a taken folder."""
    folder = make_folder(setting, path)
    others = sorted(p.name for p in folder.iterdir() if p.name != CLAIM_FILE)
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise FolderTakenError(
            f"{setting}={str(folder)!r} is not allowed: the folder already holds files ({shown}); "
            "results are never overwritten, so name a new or empty folder"
        )
    try:
        descriptor = os.open(folder / CLAIM_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise FolderTakenError(
            f"{setting}={str(folder)!r} is not allowed: another run has just claimed it"
        ) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(setting, str(folder), f"a folder you can write to ({reason})") from None
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "claimed": time.time()}
    with os.fdopen(descriptor, "w") as handle:
        handle.write(json.dumps(owner) + "\n")
    return folder


def join_shared_folder(path: str | Path, setting: str, belongs: bool) -> Path:
    """A folder that several processes fill together (the workers of one stored search).

    An empty or missing folder is claimed as `claim_folder` does; one that holds
    files is joined only if `belongs` says they are this search's own.
    """
    folder = make_folder(setting, path)
    if any(p.name != CLAIM_FILE for p in folder.iterdir()):
        if not belongs:
            return claim_folder(folder, setting)  # refused, with the files it holds
        return folder
    try:
        return claim_folder(folder, setting)
    except FolderTakenError:  # another worker claimed it a moment ago
        return folder


def lock_run(folder: str | Path) -> IO[str]:
    """Hold the run's lock until the returned file is closed (or the process ends).

    Runs made before claim files existed get one now.
    """
    try:
        handle = open(Path(folder) / CLAIM_FILE, "a")  # noqa: SIM115 - held open on purpose
    except OSError as error:
        reason = error.strerror or str(error)
        raise UserError(f"resume={str(folder)!r} cannot be written to: {reason}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UserError(
            f"resume={str(folder)!r} is in use: another process is training this run now"
        ) from None
    return handle


def is_locked(folder: str | Path) -> bool:
    """Whether a process holds the run's lock now: it is training (or resuming) the run."""
    path = Path(folder) / CLAIM_FILE
    try:
        handle = open(path)  # noqa: SIM115 - closed below, whatever happens
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        handle.close()
    return False
