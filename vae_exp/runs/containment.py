"""Keeping a tool inside the run folder it was given.

A received run folder names locations: in `config.yaml` (a checkpoint folder,
a logger's folder, a store, a tracking server) and in a checkpoint's callback
state (the best checkpoints, which Lightning deletes when they are superseded).
Each is resolved (links, `..`) before it is used; one that lies outside the
folder, or a server, is re-pointed at what the resuming command itself would
use, or refused.
Links inside the folder that lead out of it are refused, since writing
through them would write elsewhere.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from vae_exp.foundation.errors import UserError

log = logging.getLogger(__name__)

# Settings that name data to read, never a place to write: they may lie anywhere.
READ_ONLY_SETTINGS = frozenset({"data.data_dir", "paths.data_dir", "data.path"})
_FILE_SCHEMES = ("file", "sqlite")
# Setting names that hold a place: a relative value there is a folder in the working directory.
LOCATION_ENDINGS = ("dir", "dirpath", "path", "root", "uri", "location", "folder")
REMOTE = object()  # a setting that names a server (a tracking URI) rather than a path


class OutsideFolder(UserError):
    """A received record names a location outside its run folder."""


def is_inside(path: str | Path, folder: str | Path) -> bool:
    """Whether `path`, with links and `..` resolved, lies in `folder` (also resolved)."""
    return Path(path).expanduser().resolve().is_relative_to(Path(folder).resolve())


def local_path(value: str) -> str | None:
    """The filesystem path a config string names, if it names one.

    Absolute paths, `~` paths, `file:` and `sqlite:` URIs, and any string with
    a `..` segment (a relative name that climbs out of where it is joined).
    """
    if value.startswith(("/", "~")):
        return value
    scheme = urlparse(value).scheme
    if scheme in _FILE_SCHEMES:
        path = urlparse(value).path
        return path[1:] if path.startswith("//") else path
    if ".." in value.replace("\\", "/").split("/"):
        return value
    return None


def names_a_location(setting: str) -> bool:
    """Whether a setting's name says it holds a place (`dirpath`, `save_dir`, `tracking_uri`)."""
    key = setting.rsplit(".", 1)[-1].lower()
    return key.endswith(LOCATION_ENDINGS)


def contained_config(
    saved: dict[str, Any],
    run_dir: Path,
    own_value: Callable[[str], Any],
    source: str,
) -> dict[str, Any]:
    """`saved` (plain data) with every location in it inside `run_dir`.

    A location outside is replaced by `own_value(setting)`, what the command now
    running would use for it, when that is a location the command chose itself;
    else the record is refused with one line naming the setting.
    """

    def visit(value: Any, setting: str) -> Any:
        if isinstance(value, dict):
            return {k: visit(v, f"{setting}.{k}" if setting else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [visit(v, f"{setting}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, str) or setting in READ_ONLY_SETTINGS:
            return value
        place = _place(value, setting)
        if place is None or (place is not REMOTE and _within(place, run_dir)):
            return value
        return _own_instead(value, setting, own_value(setting), place is REMOTE)

    def _own_instead(value: str, setting: str, own: Any, remote: bool) -> Any:
        """The command's own value for a location it does not take from a received file."""
        if own == value:  # what the command now running would use anyway
            return value
        own_path = local_path(own) if isinstance(own, str) else None
        acceptable = own_path is not None and _acceptable_own(own_path, run_dir)
        if acceptable or (remote and isinstance(own, str) and own):  # a server: the command's
            log.warning(
                "%s: %s=%r lies outside the run folder; using %r", source, setting, value, own
            )
            return own
        raise OutsideFolder(
            f"{source}: {setting}={value!r} lies outside the run folder {run_dir}; a resumed "
            "run writes only inside its own folder and to the places its command names: to "
            f"keep it, name it on the command line ({setting}=...)"
        )

    return visit(saved, "")


def _place(value: str, setting: str) -> str | object | None:
    """The local path a setting's value names, REMOTE for a server, None for no place at all."""
    path = local_path(value)
    if path is not None or not value or not names_a_location(setting):
        return path
    if "://" in value:
        return REMOTE
    return os.path.abspath(value)  # a relative folder means the working directory


def _within(path: str, run_dir: Path) -> bool:
    """Whether `path` lies in `run_dir`; a relative one is taken as joined to the folder."""
    candidate = Path(path).expanduser()
    return is_inside(candidate if candidate.is_absolute() else run_dir / candidate, run_dir)


def _acceptable_own(path: str, run_dir: Path) -> bool:
    """The command's own location: inside the folder for real, or chosen outside it on purpose."""
    lexically_inside = Path(os.path.abspath(Path(path).expanduser())).is_relative_to(run_dir)
    return is_inside(path, run_dir) if lexically_inside else True


def outside_links(run_dir: Path) -> Iterator[Path]:
    """The links in `run_dir` (at any depth) that lead out of it."""
    for folder, names, files in os.walk(run_dir):
        for name in names + files:
            path = Path(folder) / name
            if path.is_symlink() and not is_inside(path, run_dir):
                yield path


def check_no_outside_links(run_dir: Path, setting: str) -> None:
    """Refuse a run folder through whose links a tool would read or write elsewhere."""
    for link in outside_links(run_dir):
        raise OutsideFolder(
            f"{setting}={str(run_dir)!r} is not allowed: {link.relative_to(run_dir)} is a link "
            f"to {os.readlink(link)}, outside the run folder; replace it with the files themselves"
        )


def contained_paths(value: Any, folder: Path) -> Any:
    """`value` (a checkpoint's callback state) without the file paths that lie outside `folder`.

    Lightning deletes a superseded best checkpoint by the path its state holds;
    a path that resolves elsewhere is dropped (an entry of `best_k_models`) or
    emptied, so that only the run's own checkpoints can be removed.
    """
    if isinstance(value, str):
        path = local_path(value)
        return "" if path is not None and not is_inside(path, folder) else value
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if isinstance(key, str) and local_path(key) and not is_inside(key, folder):
                log.warning("Dropping %s from a checkpoint's state: outside %s", key, folder)
                continue
            kept[key] = contained_paths(item, folder)
        return kept
    if isinstance(value, (list, tuple)):
        return type(value)(contained_paths(item, folder) for item in value)
    return value
