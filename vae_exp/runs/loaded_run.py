"""A trained run read back from its folder: the model, its config and its record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from vae_exp.models import VAE
from vae_exp.runs.checkpoints import load_vae, resolve_run, run_config
from vae_exp.runs.record import read_results


@dataclass(frozen=True)
class Run:
    """A trained run, read back from its folder.

    Attributes:
        folder: the run folder.
        checkpoint: the checkpoint `model` was loaded from (the best one by default).
        model: the VAE, in eval mode on the CPU.
        config: the run's resolved config (`config.yaml`), or None if it has none.
        results: its `results.json`, or None if it has none.
    """

    folder: Path
    checkpoint: Path
    model: VAE
    config: DictConfig | None
    results: dict[str, Any] | None


def load_run(path: str | Path) -> Run:
    """The run of a run folder (its best checkpoint) or of one of its checkpoint files."""
    folder, checkpoint, contents = resolve_run(path)
    return Run(
        folder=folder,
        checkpoint=checkpoint,
        model=load_vae(checkpoint, contents),
        config=run_config(folder),
        results=read_results(folder),
    )
