"""Where vae-exp finds its configs and data and puts its results.

Nothing here depends on the working directory: the defaults are anchored at
the project root (the folder holding `conf/` and the `vae_exp` package of an
editable install), and environment variables override them.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "conf"

DATA_DIR_ENV = "VAE_EXP_DATA_DIR"
OUTPUT_DIR_ENV = "VAE_EXP_OUTPUT_DIR"


def claim_fresh_dir(path: str) -> str:
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
