"""Keeps the run's `results.json` current while it trains.

A run killed outright (SIGKILL, the kernel's out-of-memory killer) cannot write
anything as it dies, so its record is written when training starts and after
every validation: it then says `running` with the epochs done and the metrics
they reached, and the training lock (`vae_exp.runs.claims`) tells a live run
from a dead one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.trainer.states import TrainerFn

from vae_exp.foundation.atomic import DiskFullError
from vae_exp.runs import record as run_record
from vae_exp.runs.record import RUNNING

log = logging.getLogger(__name__)


class EpochRecord(pl.Callback):
    """Writes `status: running`, the epochs done and the latest metrics after each validation."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        run_record.write_results(self.run_dir, {"status": RUNNING, "epochs": trainer.current_epoch})

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return  # a validation of its own (a resumed run's final pictures) is no epoch
        metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
        record = {"status": RUNNING, "epochs": trainer.current_epoch + 1, "metrics": metrics}
        try:
            run_record.write_results(self.run_dir, record)
        except DiskFullError as error:  # the epoch's checkpoint, written next, stops the run
            log.warning("%s", error)
