"""Reports each epoch's value to its Optuna trial and stops a trial the pruner gives up on.

Added to a trial's job by `hparams_search=optuna` with `hydra.sweeper.pruner`
set (never by hand). The job talks to the study's storage itself, so a
pruned trial stops in its own process, at the end of the epoch it was pruned
in: its checkpoints, pictures and `results.json` (status `pruned`, the metrics
so far) are those of a run that ended there.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import optuna
import pytorch_lightning as pl

from vae_exp.runs.record import PRUNED
from vae_exp.sweeps.study import StudySettings, open_study

log = logging.getLogger(__name__)


class TrialPruning(pl.Callback):
    """Reports `monitor` after each validation epoch to trial `trial_number` of the study."""

    def __init__(
        self,
        storage: str,
        study_name: str,
        trial_number: int,
        pruner: str,
        monitor: str,
        pruner_settings: dict[str, Any] | None = None,
    ) -> None:
        self.storage = storage
        self.study_name = study_name
        self.trial_number = int(trial_number)
        self.pruner = pruner
        self.pruner_settings = dict(pruner_settings or {})
        self.monitor = monitor
        self.stop_status: str | None = None
        self._trial: optuna.Trial | None = None

    def _trial_of_study(self) -> optuna.Trial:
        if self._trial is None:
            settings = StudySettings(
                study_name=self.study_name,
                storage=self.storage,
                direction="minimize",  # read from the stored study; this value is not used
                n_trials=1,
                pruner=self.pruner,
                pruner_settings=self.pruner_settings,
            )
            study = open_study(settings, None, with_heartbeat=False)
            storage = study._storage
            study_id = storage.get_study_id_from_name(self.study_name)
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, self.trial_number)
            self._trial = optuna.Trial(study, trial_id)
        return self._trial

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        if not math.isfinite(value):
            return
        trial = self._trial_of_study()
        epoch = trainer.current_epoch
        trial.report(value, step=epoch)
        if trial.should_prune():
            log.warning(
                "Trial %d pruned after epoch %d (%s %.4f)",
                self.trial_number,
                epoch + 1,
                self.monitor,
                value,
            )
            self.stop_status = PRUNED
            trainer.should_stop = True
