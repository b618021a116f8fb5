"""`vae-exp-explore run=<run> z=[0,1,0,0]`: the command; the drawing is `vae_exp.exploration`.

Nothing heavy is imported before Hydra has parsed the command line, so that
`--help`, `--cfg` and completion answer at once.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from vae_exp.cli.help import answer_help
from vae_exp.cli.startup import CONFIG_PATH, prepare_process
from vae_exp.foundation.errors import exit_on_user_error
from vae_exp.foundation.process import tune_for_training


def run(cfg: DictConfig) -> None:
    """Draw, and print the path of each PNG file written."""
    tune_for_training()
    from vae_exp.exploration import explore

    with exit_on_user_error():
        paths = explore(cfg)
    for path in paths:
        print(path)


_hydra_app = hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="explore")(run)


def main() -> None:
    """The `vae-exp-explore` command."""
    prepare_process(path_settings=("run", "out"))
    if not answer_help("explore", sys.argv[1:]):
        _hydra_app()
