"""How every Hydra command starts: a kept answer, vae-exp's own `--help`, or Hydra.

Nothing here imports Hydra, OmegaConf or PyTorch before it is needed, so that
an answer kept by `vae_exp.cli.answers` prints at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from vae_exp.cli.answers import answer_once


def hydra_app(config_name: str, run: Callable[[Any], Any]) -> None:
    """Hydra's own command for `config_name`: parse the command line, compose, run or print."""
    import hydra

    from vae_exp.cli.startup import CONFIG_PATH

    hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name=config_name)(run)()


def start(config_name: str, run: Callable[[Any], Any], path_settings: Sequence[str] = ()) -> None:
    """Answer this process's command line with `run` on the config `config_name`.

    `path_settings` are the settings that take paths (see `prepare_process`).
    """

    def answer() -> None:
        from vae_exp.cli.help import answer_help
        from vae_exp.cli.startup import prepare_process

        prepare_process(path_settings=path_settings)
        if not answer_help(config_name, sys.argv[1:]):
            hydra_app(config_name, run)

    answer_once(config_name, sys.argv[1:], answer)
