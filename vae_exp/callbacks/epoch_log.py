"""One log line per epoch, so that `train.log` tells a run's story without TensorBoard."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import pytorch_lightning as pl

from vae_exp.models.metrics import TRAIN_LOSS, VAL_LOSS, VAL_NEG_ELBO

log = logging.getLogger(__name__)


class EpochLog(pl.Callback):
    """Logs the chosen epoch metrics and the epoch's wall time after each validation.

    Args:
        metrics: names of logged metrics to report, in this order.
    """

    def __init__(self, metrics: Sequence[str] = (TRAIN_LOSS, VAL_LOSS, VAL_NEG_ELBO)):
        self.metrics = tuple(metrics)
        self._epoch_started = time.perf_counter()
        self._pending: tuple[int, float] | None = None

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._flush(trainer)
        self._epoch_started = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # The module logs its epoch's training means after the callbacks' epoch-end hooks
        # have run, so the line is written once they are in: at the next epoch or the end.
        self._pending = (trainer.current_epoch, time.perf_counter() - self._epoch_started)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._flush(trainer)

    def _flush(self, trainer: pl.Trainer) -> None:
        if self._pending is None or not trainer.is_global_zero:
            return
        epoch, elapsed = self._pending
        self._pending = None
        values = trainer.callback_metrics
        shown = "  ".join(f"{name} {values[name]:.4f}" for name in self.metrics if name in values)
        log.info("Epoch %d/%d  %s  (%.1f s)", epoch + 1, trainer.max_epochs, shown, elapsed)
