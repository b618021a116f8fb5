"""Finding and loading a run's checkpoints, safely.

Checkpoints are read with `torch.load(weights_only=True)`, which unpickles only
tensors and plain containers: a file that carries other Python objects (which
could run code while loading) is refused.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from vae_exp.models import VAE
from vae_exp.runs.errors import UserError
from vae_exp.runs.layout import CHECKPOINT_DIR, CONFIG_FILE, LAST_CHECKPOINT
from vae_exp.runs.record import read_results

_SCORE = re.compile(r"val_loss=([0-9.eE+-]+)\.ckpt$")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, refusing anything beyond tensors and plain data."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no checkpoint file at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UserError(
            f"refusing to load {path}: it holds Python objects beyond tensors and plain data, "
            f"which could run code while loading ({str(error).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        raise UserError(f"cannot read checkpoint {path}: {error}") from None


def best_checkpoint(run_dir: Path) -> Path:
    """The run's best checkpoint by val/loss, else its last one."""
    folder = run_dir / CHECKPOINT_DIR
    results = read_results(run_dir) or {}
    recorded = results.get("best_checkpoint")
    # Recorded relative to the run folder (absolute in runs of older versions).
    if recorded and (run_dir / recorded).is_file():
        return run_dir / recorded
    scored = [(float(m.group(1)), p) for p in folder.glob("*.ckpt") if (m := _SCORE.search(p.name))]
    if scored:
        return min(scored)[1]
    if (folder / LAST_CHECKPOINT).is_file():
        return folder / LAST_CHECKPOINT
    raise UserError(f"run={run_dir} has no checkpoint in {folder}")


def resolve_run(run: str | Path) -> tuple[Path, Path]:
    """(run folder, checkpoint) for a run folder or a checkpoint file."""
    path = Path(run).expanduser().resolve()
    if path.is_file():
        run_dir = path.parent.parent if path.parent.name == CHECKPOINT_DIR else path.parent
        return run_dir, path
    if path.is_dir():
        return path, best_checkpoint(path)
    raise UserError(f"run={run} is neither a run folder nor a checkpoint file")


def run_config(run_dir: Path) -> DictConfig | None:
    """The run's resolved config (`config.yaml`), if it has one."""
    path = run_dir / CONFIG_FILE
    return OmegaConf.load(path) if path.is_file() else None


def load_vae(checkpoint: Path) -> VAE:
    """The VAE of a checkpoint, in eval mode on the CPU.

    The checkpoint's network and optimizer configs are built only if they name
    `nn.Module` and `torch.optim` classes (see `vae_exp.models.components`).
    """
    contents = load_checkpoint(checkpoint)
    try:
        model = VAE(**contents["hyper_parameters"])
        model.load_state_dict(contents["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise UserError(f"{checkpoint} is not a checkpoint of a vae-exp VAE ({error})") from None
    return model.eval()
