"""The run folders under TensorBoard's logdir, each loaded once and reloaded when it changes.

A run is named by its folder's path relative to the logdir, and a request
can only pick one of the names found by walking the logdir: no name from a
request is ever joined to a path, and links are not followed, so the tab
reads nothing outside the logdir.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vae_exp.foundation.errors import UserError
from vae_exp.latent_tab.views import RunView
from vae_exp.runs.checkpoints import checkpoint_candidates
from vae_exp.runs.containment import is_inside
from vae_exp.runs.layout import CHECKPOINT_DIR, FIGURES_DIR
from vae_exp.runs.loaded_run import load_run

_NOT_RUNS = frozenset({CHECKPOINT_DIR, FIGURES_DIR, "tensorboard", ".hydra", "__pycache__"})


class UnknownRun(UserError):
    """A run name that is not one of the run folders under the logdir."""


def run_folders(logdir: Path) -> Iterator[tuple[str, Path]]:
    """(name, folder) of every folder under `logdir` with a checkpoint, without following links."""
    root = logdir.resolve()
    for folder, subfolders, _ in os.walk(root, followlinks=False):
        here = Path(folder)
        if (here / CHECKPOINT_DIR).is_dir() and checkpoint_candidates(here):
            subfolders[:] = []  # a run holds no runs
            yield here.relative_to(root).as_posix(), here
            continue
        subfolders[:] = sorted(d for d in subfolders if d not in _NOT_RUNS and d[0] != ".")


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


class RunCatalogue:
    """Finds the runs under `logdir` and keeps each one's `RunView` until its checkpoint changes."""

    def __init__(self, logdir: str | Path, load: Callable[[Path], Any] = load_run) -> None:
        # No logdir (TensorBoard started with --logdir_spec, say) lists nothing, not the working
        # directory that an empty path would name.
        self.logdir = Path(logdir).expanduser() if str(logdir) else None
        self._load = load
        self._lock = threading.Lock()
        self._views: dict[str, tuple[tuple, RunView | str]] = {}
        self._folders: dict[str, Path] = {}

    def names(self) -> dict[str, Path]:
        """Each run's name and folder, found afresh (a run that started since is listed too)."""
        found = {}
        if self.logdir is not None and self.logdir.is_dir():
            found = {
                name: folder
                for name, folder in run_folders(self.logdir)
                if is_inside(folder, self.logdir)
            }
        self._folders = found
        return found

    def listing(self) -> list[dict[str, Any]]:
        """Every run as `/runs` lists it; one that cannot be read says why instead."""
        entries = []
        for name, folder in self.names().items():
            loaded = self._loaded(name, folder)
            if isinstance(loaded, str):
                entries.append({"run": name, "error": loaded})
                continue
            try:
                entries.append(loaded.describe())
            except Exception as error:  # a run's fault is its own entry, never the whole list's
                entries.append({"run": name, "error": _first_line(error)})
        return entries

    def view(self, name: str) -> RunView:
        """The run named `name`, loaded; UnknownRun, or UserError with the reason it cannot be."""
        # The last walk's names first: a slider's requests need no walk of the logdir each.
        folder = self._folders.get(name)
        if folder is None or folder.is_symlink() or not is_inside(folder, self.logdir):
            folder = self.names().get(name)
        if folder is None:
            raise UnknownRun(f"run={name!r} is not a run folder with a checkpoint under the logdir")
        loaded = self._loaded(name, folder)
        if isinstance(loaded, str):
            raise UserError(f"run={name!r} cannot be read: {loaded}")
        return loaded

    def _loaded(self, name: str, folder: Path) -> RunView | str:
        key = _version(folder)
        with self._lock:
            cached = self._views.get(name)
            if cached is not None and cached[0] == key:
                return cached[1]
            try:
                loaded: RunView | str = RunView(name, self._load(folder))
            except Exception as error:  # listed with its reason, as the tab shows it
                loaded = _first_line(error)
            self._views[name] = (key, loaded)
            return loaded


def _version(folder: Path) -> tuple:
    """What changes when a run writes a new checkpoint or record."""
    stamps = []
    for path in [*checkpoint_candidates(folder), folder / "results.json"]:
        try:
            info = path.stat()
        except OSError:
            continue
        stamps.append((path.name, info.st_mtime_ns, info.st_size))
    return tuple(stamps)
