"""Hydra callback that reports a sweep when it ends and fails the command if a job failed."""

from __future__ import annotations

import logging
import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from vae_exp.models.metrics import latent_stat_names, model_metric_names
from vae_exp.runs.checks import check_optimized_metric
from vae_exp.runs.errors import ConfigError, UserError
from vae_exp.sweeps.report import report

log = logging.getLogger(__name__)


def expected_metric_names(latent_dim: int) -> set[str]:
    """The metrics a default run logs (checked exactly again in each job)."""
    return model_metric_names() | latent_stat_names(latent_dim)


class SweepReport(Callback):
    """After `-m`: writes summary.csv and summary.png, prints the table, exits 1 on failures.

    Each job records its own failure instead of stopping the sweep (see
    `vae_exp.train`), so the report is the one place that says what went wrong.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # A misspelt metric would fail every trial of a search: refuse it before the first.
        try:
            check_optimized_metric(
                config.get("optimized_metric"), expected_metric_names(int(config.latent_dim))
            )
        except ConfigError as error:
            log.error("%s", error)
            sys.exit(2)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            summary = report(config.hydra.sweep.dir)
        except UserError as error:  # a job folder's record that cannot be read
            log.error("%s", error)
            sys.exit(2)
        if summary.failed:
            names = ", ".join(job.folder.name for job in summary.failed)
            log.error("%d of %d jobs failed: %s", len(summary.failed), len(summary.rows), names)
            sys.exit(1)
