"""One log line per epoch, so that `train.log` tells a run's story without TensorBoard."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import pytorch_lightning as pl

log = logging.getLogger(__name__)


class EpochLog(pl.Callback):
    """Logs the chosen epoch metrics and the epoch's wall time after each validation.

    Args:
        metrics: names of logged metrics to report, in this order.
    """

    def __init__(self, metrics: Sequence[str] = ("train/loss", "val/loss", "val/neg_elbo")):
        self.metrics = tuple(metrics)
        self._epoch_started = time.perf_counter()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch_started = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        values = trainer.callback_metrics
        shown = "  ".join(f"{name} {values[name]:.4f}" for name in self.metrics if name in values)
        log.info(
            "Epoch %d/%d  %s  (%.1f s)",
            trainer.current_epoch + 1,
            trainer.max_epochs,
            shown,
            time.perf_counter() - self._epoch_started,
        )
