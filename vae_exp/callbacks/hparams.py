"""The run's hyperparameters with its final metrics, for TensorBoard's HPARAMS tab."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
from torch.utils.tensorboard.summary import hparams

from vae_exp.callbacks.base import tensorboard_writer
from vae_exp.models.metrics import SUMMARY_METRICS


def run_hyperparameters(trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
    """The settings that tell runs apart, read from the objects being trained."""
    params: dict[str, Any] = {
        key: pl_module.hparams[key]
        for key in ("latent_dim", "kl_weight", "reparameterization")
        if key in pl_module.hparams
    }
    datamodule = trainer.datamodule
    if datamodule is not None:
        params["digits"] = ",".join(str(d) for d in getattr(datamodule, "digits", ()))
        params["batch_size"] = getattr(datamodule, "batch_size", None)
        params["data_source"] = getattr(datamodule, "source_used", None)
    if trainer.optimizers:
        optimizer = trainer.optimizers[0]
        params["optimizer"] = type(optimizer).__name__
        params["lr"] = optimizer.defaults.get("lr")
    params["max_epochs"] = trainer.max_epochs
    params["seed"] = int(os.environ.get("PL_GLOBAL_SEED", -1))
    return {key: value for key, value in params.items() if value is not None}


class HyperparameterSummary(pl.Callback):
    """Declares the run's hyperparameters and the metrics to show beside them.

    TensorBoard's HPARAMS tab shows, for each run, the last value of each
    declared metric's scalar, so the metric columns fill in as training logs
    them (declaring no metric is what leaves those columns empty). The same
    hyperparameters go to every logger (`hparams.yaml` for TensorBoard's).

    Args:
        metrics: scalar tags shown in the HPARAMS tab.
    """

    def __init__(self, metrics: Sequence[str] = SUMMARY_METRICS) -> None:
        self.metrics = tuple(metrics)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        params = run_hyperparameters(trainer, pl_module)
        for logger in trainer.loggers:
            logger.log_hyperparams(params)
        writer = tensorboard_writer(trainer)
        if writer is None or not trainer.is_global_zero:
            return
        experiment, session_start, session_end = hparams(params, dict.fromkeys(self.metrics, 0.0))
        file_writer = writer._get_file_writer()
        for summary in (experiment, session_start, session_end):
            file_writer.add_summary(summary)
