"""The Hydra callbacks: one gives each run and each sweep a folder of its own, one reports a sweep.

Hydra makes the run folder, opens its log and saves `.hydra/` before the task
function starts, so refusing a taken folder there would be too late: this
callback acts in `on_run_start` and `on_multirun_start`, before Hydra writes
anything. A bad setting is refused here too, before any folder is made, and a
resume of a finished run stops here, changing nothing.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import IO, Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from vae_exp.foundation.errors import ConfigError, UserError
from vae_exp.models.metrics import latent_stat_names, model_metric_names
from vae_exp.pipeline.checks import check_optimized_metric, check_train_config
from vae_exp.runs.claims import claim_folder, lock_run
from vae_exp.runs.containment import check_no_outside_links
from vae_exp.runs.locations import resolved
from vae_exp.runs.resume import is_finished, resumed_config
from vae_exp.sweeps.report import report

log = logging.getLogger(__name__)

# Set by launchers for the extra processes of a multi-process run, which share rank 0's folder.
_RANK_VARIABLES = ("LOCAL_RANK", "RANK", "SLURM_PROCID")


def is_secondary_process() -> bool:
    return any(int(os.environ.get(name) or 0) > 0 for name in _RANK_VARIABLES)


def _refuse(error: UserError) -> None:
    print(f"error: {error}", file=sys.stderr, flush=True)
    sys.exit(2)


class ClaimRunFolder(Callback):
    """Claims `hydra.run.dir` (or checks `resume=`) and `hydra.sweep.dir` before Hydra writes."""

    def __init__(self) -> None:
        self._lock: IO[str] | None = None  # held until the process ends

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if is_secondary_process():
            return
        try:
            if config.get("resume"):
                self._lock = self._check_resume(config)
            else:
                check_train_config(config)
                folder = claim_folder(OmegaConf.select(config, "hydra.run.dir"), "hydra.run.dir")
                self._lock = lock_run(folder)
        except UserError as error:
            _refuse(error)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if is_secondary_process():
            return
        try:
            claim_folder(OmegaConf.select(config, "hydra.sweep.dir"), "hydra.sweep.dir")
        except UserError as error:
            _refuse(error)

    @staticmethod
    def _check_resume(config: DictConfig) -> IO[str]:
        folder = resolved(config.resume)
        if folder.is_dir():
            check_no_outside_links(folder, "resume")
        effective = resumed_config(config, list(config.hydra.overrides.task), folder)
        check_train_config(effective)
        if is_finished(folder, effective):
            print(
                f"resume={folder}: the run has finished all {effective.trainer.max_epochs} epochs, "
                "so nothing was changed; raise trainer.max_epochs to train it longer",
                flush=True,
            )
            sys.exit(0)
        return lock_run(folder)


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
