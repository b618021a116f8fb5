"""The best checkpoint and the latest one, after every epoch."""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint


class BestAndLastCheckpoint(ModelCheckpoint):
    """Lightning's `ModelCheckpoint`, except that `last.ckpt` follows every epoch.

    Lightning 2.x writes `last.ckpt` only when a best checkpoint is written in
    the same step, so after the best epoch it stops moving: a run resumed from
    it would go back to its best epoch, and "last" would not be the last.
    Here, after Lightning's own saving, `last.ckpt` is written whenever it is
    behind the current step. Takes every argument of `ModelCheckpoint`.
    """

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._catch_up_last(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._catch_up_last(trainer)

    def _catch_up_last(self, trainer: pl.Trainer) -> None:
        if not self.save_last or self._should_skip_saving_checkpoint(trainer):
            return
        if self._last_global_step_saved != trainer.global_step or not self.last_model_path:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
