"""Finding and loading a run's checkpoints, safely.

Checkpoints are read with `torch.load(weights_only=True)`, which unpickles only
tensors and plain containers: a file that carries other Python objects (which
could run code while loading) is refused.
"""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from vae_exp.foundation.errors import UserError
from vae_exp.foundation.trust import check_plain, check_targets
from vae_exp.models import VAE
from vae_exp.runs.containment import check_no_outside_links
from vae_exp.runs.layout import CHECKPOINT_DIR, CONFIG_FILE, LAST_CHECKPOINT
from vae_exp.runs.record import DamagedRecord, read_results, read_yaml_record
from vae_exp.runs.upgrades import upgraded_model_settings

log = logging.getLogger(__name__)
_SCORE = re.compile(r"val_loss=([0-9.eE+-]+)\.ckpt$")


class UnreadableCheckpoint(UserError):
    """A checkpoint file that is truncated or damaged."""


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
        raise UnreadableCheckpoint(f"cannot read checkpoint {path}: {error}") from None


def checkpoint_candidates(run_dir: Path) -> list[Path]:
    """The run's checkpoints, best first: the recorded best, the others by val/loss, the last."""
    folder = run_dir / CHECKPOINT_DIR
    try:
        recorded = (read_results(run_dir) or {}).get("best_checkpoint")
    except DamagedRecord as error:  # the checkpoints themselves can still be ranked
        log.warning("Choosing a checkpoint without the run's record: %s", error)
        recorded = None
    # Recorded relative to the run folder (absolute in older runs): the file is in this folder.
    ordered = [folder / Path(recorded).name] if recorded else []
    scored = [(float(m.group(1)), p) for p in folder.glob("*.ckpt") if (m := _SCORE.search(p.name))]
    ordered += [path for _, path in sorted(scored)]
    ordered.append(folder / LAST_CHECKPOINT)
    return [path for path in dict.fromkeys(ordered) if path.is_file()]


def run_folder_of(checkpoint: Path) -> Path:
    """The run folder a checkpoint file belongs to (the folder above `checkpoints/`)."""
    checkpoint = checkpoint.resolve()
    return (
        checkpoint.parent.parent if checkpoint.parent.name == CHECKPOINT_DIR else checkpoint.parent
    )


def resolve_run_folder(run: str | Path) -> Path:
    """The run folder that `run=` names: the folder itself, or a checkpoint file's run folder."""
    path = Path(run).expanduser().resolve()
    if path.is_file():
        return run_folder_of(path)
    if not path.is_dir():
        raise UserError(f"run={run} is neither a run folder nor a checkpoint file")
    return path


def resolve_run(run: str | Path) -> tuple[Path, Path, dict[str, Any]]:
    """(run folder, checkpoint, its contents) for a run folder or a checkpoint file.

    In a run folder, a checkpoint that cannot be read (cut short by a full disk,
    say) is skipped with a warning naming it, and the next best is taken. A run
    folder with links that lead out of it is refused.
    """
    path = Path(run).expanduser().resolve()
    run_dir = resolve_run_folder(path)
    if path.is_file():
        return run_dir, path, load_checkpoint(path)
    check_no_outside_links(path, "run")
    for candidate in checkpoint_candidates(path):
        try:
            return path, candidate, load_checkpoint(candidate)
        except UnreadableCheckpoint as error:
            log.warning("Skipping a checkpoint: %s", error)
    raise UserError(f"run={run} has no readable checkpoint in {path / CHECKPOINT_DIR}")


def run_config(run_dir: Path) -> DictConfig | None:
    """The run's resolved config (`config.yaml`), if it has one."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        return None
    config = read_yaml_record(path)
    if not isinstance(config, DictConfig):
        raise DamagedRecord(f"{path} is not a saved vae-exp config: it holds a list")
    check_plain(config, str(path))
    return config


def load_vae(checkpoint: Path, contents: dict[str, Any] | None = None) -> VAE:
    """The VAE of a checkpoint (whose `contents` may be loaded already), in eval mode on the CPU.

    The checkpoint's network and optimizer configs are built only if they name
    `nn.Module` and `torch.optim` classes (see `vae_exp.models.components`).
    """
    contents = contents if contents is not None else load_checkpoint(checkpoint)
    hyper_parameters = contents.get("hyper_parameters") if isinstance(contents, dict) else None
    if isinstance(hyper_parameters, dict):  # before anything is imported or built
        check_targets(hyper_parameters, received_from=run_folder_of(Path(checkpoint)))
    try:
        model = VAE(**upgraded_model_settings(dict(contents["hyper_parameters"])))
        model.load_state_dict(contents["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise UserError(f"{checkpoint} is not a checkpoint of a vae-exp VAE ({error})") from None
    return model.eval()
