"""Where vae-exp reads its data and writes its results.

Results go to `outputs/` in the directory where a command starts (or
`VAE_EXP_OUTPUT_DIR`); data come from `VAE_EXP_DATA_DIR`, else from the user's
cache folder, shared by every project and never inside the installed package.
Relative paths are made absolute against the starting directory, so that no
later change of directory can move them.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from vae_exp.foundation.errors import ConfigError
from vae_exp.runs.layout import RUNS_DIR, SWEEPS_DIR

DATA_DIR_ENV = "VAE_EXP_DATA_DIR"
OUTPUT_DIR_ENV = "VAE_EXP_OUTPUT_DIR"
RUN_STAMP = "%Y-%m-%d_%H-%M-%S"  # names run, sweep and resume folders


def absolute(path: str | Path) -> str:
    """`path` with `~` expanded, made absolute against the current directory."""
    return str(Path(path).expanduser().absolute())


def resolved(path: str | Path) -> Path:
    """`path` with `~` expanded and links resolved, e.g. the run folder named by `resume=`."""
    return Path(path).expanduser().resolve()


def stamp() -> str:
    """The time now, as folder names show it: 2026-11-24_10-00-00."""
    return time.strftime(RUN_STAMP)


def default_data_dir() -> str:
    """`$XDG_CACHE_HOME/vae-exp/data`, by default `~/.cache/vae-exp/data`."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return absolute(Path(cache) / "vae-exp" / "data")


def new_run_dir(output_root: str | Path) -> str:
    """A fresh folder `<output_root>/runs/<date>_<time>` (claimed, see `claim_fresh_dir`)."""
    return claim_fresh_dir(Path(output_root) / RUNS_DIR / stamp())


def new_sweep_dir(output_root: str | Path) -> str:
    """A fresh folder `<output_root>/multirun/<date>_<time>` for a sweep."""
    return claim_fresh_dir(Path(output_root) / SWEEPS_DIR / stamp())


def claim_fresh_dir(path: str | Path) -> str:
    """Create and return `path`, or `path-2`, `path-3`... if it is taken.

    `mkdir` without `exist_ok` is atomic, so two runs started in the same
    second still get different folders and never write into each other's.
    """
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = base, 1
    while True:
        try:
            candidate.mkdir()
            return str(candidate)
        except FileExistsError:
            n += 1
            candidate = base.with_name(f"{base.name}-{n}")


def fresh_file(path: str | Path) -> Path:
    """`path`, or `name-2.ext`, `name-3.ext`... if it exists, so that no file is overwritten."""
    path = Path(path)
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def writable_folder(setting: str, folder: str | Path) -> Path:
    """`folder`, created if missing, once a file has been written and removed there.

    Tried first, so that a tool fails with one line before its computation, not
    after it: a path under a file, a read-only folder or filesystem, no space.
    """
    folder = make_folder(setting, folder)
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".vae-exp-probe-"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(setting, str(folder), f"a folder you can write to ({reason})") from None
    return folder


def make_folder(setting: str, folder: str | Path) -> Path:
    """`folder`, created if missing; one line naming `setting` if it cannot be a folder."""
    folder = Path(folder)
    blocking = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise ConfigError(setting, str(folder), f"a folder, but {blocking} is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(setting, str(folder), f"a folder that can be made ({reason})") from None
    return folder


def require_file_name(setting: str, path: Path) -> Path:
    """Refuse a file name longer than the filesystem allows (with room for its temporary name)."""
    limit = _name_max(path.parent)
    if len(os.fsencode(path.name)) > limit:
        allowed = f"a file name of at most {limit} bytes ({path.name[:40]}... is longer)"
        raise ConfigError(setting, str(path.parent), allowed)
    return path


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def tensorboard_logdir(run_dir: str | Path, output_root: str | Path) -> str:
    """A folder for `tensorboard --logdir` that holds the run: the output root if it does."""
    run, root = Path(run_dir).absolute(), Path(output_root).absolute()
    return str(root if run.is_relative_to(root) else run)
