"""`vae-exp-export run=<run> format=onnx|torchscript`: the command; the work is `vae_exp.exporting`.

Nothing heavy is imported before Hydra has parsed the command line, so that
`--help`, `--cfg` and completion answer at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vae_exp.cli.command import start
from vae_exp.foundation.errors import exit_on_user_error

if TYPE_CHECKING:
    from omegaconf import DictConfig


def run(cfg: DictConfig) -> None:
    """Export, and print the folder written with the files in it."""
    from vae_exp.exporting import export

    with exit_on_user_error():
        folder = export(cfg.run, cfg.format, cfg.out)
    print(folder)
    for path in sorted(folder.iterdir()):
        print(f"  {path.name}")


def main() -> None:
    """The `vae-exp-export` command."""
    start("export", run, path_settings=("run", "out"))
