"""Train a VAE: `vae-exp-train [overrides]` (or `python -m vae_exp.train`).

With no overrides this is the reference experiment; any public setting can be
overridden on the command line (see `--help` and the README), and `-m` sweeps.
PyTorch and Lightning are imported only when a run starts (`vae_exp.cli.train_task`),
so that `--help`, `--cfg` and TAB completion answer at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vae_exp.cli.command import start
from vae_exp.foundation.process import tune_for_training

if TYPE_CHECKING:
    from omegaconf import DictConfig


def run(cfg: DictConfig) -> float:
    """Train; return `optimized_metric` (NaN for a failed sweep job) for Hydra's sweepers."""
    tune_for_training()
    from vae_exp.cli.train_task import run as train_task

    return train_task(cfg)


def main() -> None:
    """The `vae-exp-train` command."""
    start("train", run, path_settings=("resume",))
