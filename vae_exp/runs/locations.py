"""Where vae-exp reads its data and writes its results.

Results go to `outputs/` in the directory where a command starts (or
`VAE_EXP_OUTPUT_DIR`); data come from `VAE_EXP_DATA_DIR`, else from the user's
cache folder, shared by every project and never inside the installed package.
Relative paths are made absolute against the starting directory, so that no
later change of directory can move them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

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


def tensorboard_logdir(run_dir: str | Path, output_root: str | Path) -> str:
    """A folder for `tensorboard --logdir` that holds the run: the output root if it does."""
    run, root = Path(run_dir).absolute(), Path(output_root).absolute()
    return str(root if run.is_relative_to(root) else run)
