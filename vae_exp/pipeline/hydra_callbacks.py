"""The Hydra callbacks: one gives each run and each sweep a folder of its own, one reports a sweep.

Hydra makes the run folder, opens its log and saves `.hydra/` before the task
function starts, so refusing a taken folder there would be too late: the run is
prepared (`vae_exp.pipeline.plan.prepare`) in `on_run_start`, before Hydra writes
anything. A bad setting is refused here, before any folder is made, and a
resume of a finished run stops here, changing nothing. The plan's lock is held
until the process ends.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from vae_exp.foundation.errors import ConfigError, UserError
from vae_exp.models.metrics import latent_stat_names, model_metric_names
from vae_exp.pipeline.checks import check_optimized_metric
from vae_exp.pipeline.plan import RunFinished, RunPlan, prepare
from vae_exp.runs.claims import claim_folder, join_shared_folder
from vae_exp.runs.layout import MULTIRUN_FILE, STUDY_FILE
from vae_exp.runs.record import read_yaml_record
from vae_exp.runs.resume import changed_settings
from vae_exp.sweeps.kinds import is_optuna_search, is_search
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
    """Prepares the run (`hydra.run.dir`, or `resume=`) and claims `hydra.sweep.dir` before
    Hydra writes; the task function then takes the prepared plan (`take_prepared`)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if is_secondary_process():
            return
        try:
            _hand_over(
                prepare(
                    config,
                    changed=changed_settings(list(config.hydra.overrides.task)),
                    folder=lambda: OmegaConf.select(config, "hydra.run.dir"),
                    folder_setting="hydra.run.dir",
                )
            )
        except RunFinished as finished:
            print(finished, flush=True)
            sys.exit(0)
        except UserError as error:
            _refuse(error)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if is_secondary_process():
            return
        folder = OmegaConf.select(config, "hydra.sweep.dir")
        try:
            if is_search(config.hydra.sweeper):
                join_shared_folder(folder, "hydra.sweep.dir", is_same_search(config, Path(folder)))
            else:
                claim_folder(folder, "hydra.sweep.dir")
        except UserError as error:
            _refuse(error)


def is_same_search(config: DictConfig, folder: Path) -> bool:
    """Whether `folder` holds this search: the same study, stored where the study goes on.

    A search joins its folder again (a resumed or a second worker) only where its
    study is stored: in `hydra.sweeper.storage`, or the folder's own study.db.
    """
    sweeper = config.hydra.sweeper
    saved = folder / MULTIRUN_FILE
    if not saved.is_file():
        return False
    try:
        earlier = read_yaml_record(saved)
    except UserError:
        return False
    same_study = OmegaConf.select(earlier, "hydra.sweeper.study_name") == sweeper.get("study_name")
    stored = sweeper.get("storage") is not None or (folder / STUDY_FILE).is_file()
    return same_study and stored


_prepared: list[RunPlan] = []  # the plan of this process's single run, until its task takes it


def _hand_over(plan: RunPlan) -> None:
    _prepared[:] = [plan]


def take_prepared(folder: str | Path) -> RunPlan | None:
    """The plan `ClaimRunFolder` prepared for the run in `folder`, once; None for another."""
    if _prepared and _prepared[0].folder.resolve() == Path(folder).resolve():
        return _prepared.pop()
    return None


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
            if is_optuna_search(config.hydra.sweeper):
                from vae_exp.sweeps.optuna_sweep import check_search  # imports Optuna

                check_search(config)
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
