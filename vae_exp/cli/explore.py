"""`vae-exp-explore run=<run> z=[0,1,0,0]`: the command; the drawing is `vae_exp.exploration`.

Nothing heavy is imported before Hydra has parsed the command line, so that
`--help`, `--cfg` and completion answer at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vae_exp.cli.command import start
from vae_exp.foundation.errors import exit_on_user_error
from vae_exp.foundation.process import tune_for_training

if TYPE_CHECKING:
    from omegaconf import DictConfig


def run(cfg: DictConfig) -> None:
    """Draw, and print the path of each PNG file written."""
    tune_for_training()
    from vae_exp.exploration import explore

    with exit_on_user_error():
        paths = explore(cfg)
    for path in paths:
        print(path)


def main() -> None:
    """The `vae-exp-explore` command."""
    start("explore", run, path_settings=("run", "out"))
