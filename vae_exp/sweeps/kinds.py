"""Which kind of sweeper runs a sweep: a fixed list of jobs, or a search."""

from __future__ import annotations

from typing import Any

BASIC_SWEEPER = "BasicSweeper"


def is_search(sweeper: Any) -> bool:
    """Whether the sweeper searches (Optuna...) rather than running a fixed list of jobs.

    A search sweeper learns of a failed trial from the exception; the basic
    sweeper would stop at the first one, so its failed jobs return NaN instead.
    """
    target = sweeper.get("_target_", BASIC_SWEEPER) if sweeper is not None else BASIC_SWEEPER
    return BASIC_SWEEPER not in str(target)


OPTUNA_SWEEPER = "hydra_plugins.vae_exp_sweeper.OptunaSweeper"


def is_optuna_search(sweeper: Any) -> bool:
    """Whether the sweep is vae-exp's Optuna search (`hparams_search=optuna`)."""
    return sweeper is not None and sweeper.get("_target_") == OPTUNA_SWEEPER
