"""`vae-exp-export run=<run> format=onnx|torchscript`: the command; the work is `vae_exp.exporting`.

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


def run(cfg: DictConfig) -> None:
    """Export, and print the folder written with the files in it."""
    from vae_exp.exporting import export

    with exit_on_user_error():
        folder = export(cfg.run, cfg.format, cfg.out)
    print(folder)
    for path in sorted(folder.iterdir()):
        print(f"  {path.name}")


_hydra_app = hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="export")(run)


def main() -> None:
    """The `vae-exp-export` command."""
    prepare_process(path_settings=("run", "out"))
    if not answer_help("export", sys.argv[1:]):
        _hydra_app()
