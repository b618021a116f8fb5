"""What a run leaves behind besides checkpoints and event files.

`config.yaml` is the fully resolved config (Hydra's `.hydra/config.yaml` keeps
interpolations that only resolve inside a Hydra app), and `results.json` holds
the final metrics, so that scripts and later tools need no TensorBoard reader.
Only the first process of a multi-process (DDP) run writes them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from vae_exp.runs.errors import UserError
from vae_exp.runs.layout import CHECKPOINT_DIR, CONFIG_FILE, RESULTS_FILE


def prepare_run_dir(run_dir: str | Path, resuming: bool = False) -> Path:
    """Create the run folder, refusing one that already holds a run unless resuming it."""
    folder = Path(run_dir)
    if resuming or rank_zero_only.rank != 0:  # other DDP processes share rank 0's folder
        return folder
    if (folder / RESULTS_FILE).exists() or (folder / CHECKPOINT_DIR).exists():
        raise UserError(
            f"paths.run_dir={str(folder)!r} already holds a run; results are never "
            "overwritten, so choose another folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@rank_zero_only
def write_config(run_dir: str | Path, cfg: DictConfig) -> Path:
    """The resolved config, which resume, explore and evaluate read back."""
    path = Path(run_dir) / CONFIG_FILE
    OmegaConf.save(cfg, path, resolve=True)
    return path


def read_results(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's `results.json`, or None before the run has written one."""
    path = Path(run_dir) / RESULTS_FILE
    return json.loads(path.read_text()) if path.is_file() else None


@rank_zero_only
def write_results(run_dir: str | Path, results: dict[str, Any]) -> Path:
    """Written by the first process only: DDP's other processes share its folder."""
    path = Path(run_dir) / RESULTS_FILE
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def discard_if_unused(run_dir: str | Path) -> bool:
    """Remove a run folder that holds nothing but Hydra's own files.

    A run refused before training leaves only its config and log; removing
    them keeps typos from cluttering `outputs/`. Anything else stays.
    """
    folder = Path(run_dir)
    hydra_only = all(_is_hydra_output(p) for p in folder.iterdir())
    if hydra_only:
        shutil.rmtree(folder)
    return hydra_only


def _is_hydra_output(path: Path) -> bool:
    if path.suffix == ".log":
        return True
    if path.name != ".hydra":
        return False
    # An empty .hydra/, or one with only Hydra's three files of this command.
    return {p.name for p in path.iterdir()} <= {"config.yaml", "hydra.yaml", "overrides.yaml"}
