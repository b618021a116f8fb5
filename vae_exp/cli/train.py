"""Train a VAE: `vae-exp-train [overrides]` (or `python -m vae_exp.train`).

With no overrides this is the reference experiment; any public setting can be
overridden on the command line (see `--help` and the README), and `-m` sweeps.
PyTorch and Lightning are imported only when a run starts (`vae_exp.cli.train_task`),
so that `--help`, `--cfg` and TAB completion answer at once.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from vae_exp.cli.help import answer_help
from vae_exp.cli.startup import CONFIG_PATH, prepare_process
from vae_exp.foundation.process import tune_for_training


def run(cfg: DictConfig) -> float:
    """Train; return `optimized_metric` (NaN for a failed sweep job) for Hydra's sweepers."""
    tune_for_training()
    from vae_exp.cli.train_task import run as train_task

    return train_task(cfg)


_hydra_app = hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train")(run)


def main() -> None:
    """The `vae-exp-train` command."""
    prepare_process(path_settings=("resume",))
    if not answer_help("train", sys.argv[1:]):
        _hydra_app()
