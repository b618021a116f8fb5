"""Per-dimension KL divergence and the number of active latent units."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from vae_exp.analysis.statistics import ACTIVE_UNIT_THRESHOLD, active_units, mean_kl_per_dimension
from vae_exp.callbacks.base import ValidationLatents
from vae_exp.foundation.values import require_int, require_number
from vae_exp.models.batches import labels_or_zeros
from vae_exp.models.metrics import ACTIVE_UNITS, kl_dim_name, latent_stat_names


class LatentStats(pl.Callback):
    """Logs `val/kl_dim/<i>` (nats) for each latent dimension and `val/active_units`.

    A unit is active when the variance over the validation set of its posterior
    mean exceeds `threshold` (Burda et al., 2016). Unused dimensions show a KL
    near 0 and do not count as active.

    Args:
        threshold: the variance above which a unit counts as active.
        every_n_epochs: log after every n-th validation epoch (and always the last).
    """

    def __init__(self, threshold: float = ACTIVE_UNIT_THRESHOLD, every_n_epochs: int = 1) -> None:
        self.threshold = require_number("threshold", threshold, minimum=0.0)
        self.every_n_epochs = require_int("every_n_epochs", every_n_epochs, minimum=1)
        self.latents = ValidationLatents()

    @staticmethod
    def metric_names(latent_dim: int) -> set[str]:
        """The metrics this callback logs for a latent space of `latent_dim` dimensions."""
        return latent_stat_names(latent_dim)

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.latents.reset()

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        self.latents.add(outputs, labels_or_zeros(batch)[1])

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        last = trainer.current_epoch + 1 >= (trainer.max_epochs or 0)
        if trainer.sanity_checking or not len(self.latents):
            return
        if (trainer.current_epoch + 1) % self.every_n_epochs and not last:
            return
        z_mean, log_var, _ = self.latents.tensors()
        for dim, kl in enumerate(mean_kl_per_dimension(z_mean, log_var).tolist()):
            pl_module.log(kl_dim_name(dim), kl, sync_dist=True)
        units = torch.tensor(float(active_units(z_mean, self.threshold)))
        pl_module.log(ACTIVE_UNITS, units, sync_dist=True)
