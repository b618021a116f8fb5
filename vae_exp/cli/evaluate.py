"""`vae-exp-evaluate run=<run>`: the command; the evaluation is `vae_exp.evaluation`.

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
    """Evaluate, print the table and write the JSON file (never over an earlier one)."""
    tune_for_training()
    from vae_exp.evaluation import evaluate, format_table, output_file, write_result

    with exit_on_user_error():
        out = output_file(cfg.run, cfg.out)
        result = evaluate(
            cfg.run,
            split=cfg.split,
            num_samples=cfg.num_samples,
            batch_size=cfg.batch_size,
            seed=cfg.seed,
            probes=cfg.probes,
            data_dir=cfg.data_dir,
        )
        path = write_result(result, out)
    print(format_table(result))
    print(f"Written: {path}")


def main() -> None:
    """The `vae-exp-evaluate` command."""
    start("evaluate", run, path_settings=("run", "out", "data_dir"))
