"""vae-exp's `hydra/sweeper=optuna` (`hparams_search=optuna`), on Optuna 4 and 5.

Hydra finds sweepers only in the `hydra_plugins` package and imports every
module of it when any Hydra command starts, so this one stays small and
imports Optuna only when a search starts: the work is in `vae_exp.sweeps.search`.
"""

from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """Fills one Optuna study, alone or with other workers of the same storage and study name.

    Takes the settings of `vae_exp/conf/hydra/sweeper/optuna.yaml` (see docs/sweeps.md).
    """

    def __init__(self, **settings: Any) -> None:
        self.settings = settings
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def sweep(self, arguments: list[str]) -> None:
        from vae_exp.sweeps.optuna_sweep import sweep

        assert self.config is not None and self.hydra_context is not None
        assert self.task_function is not None
        sweep(self.settings, self.config, self.hydra_context, self.task_function, arguments)
