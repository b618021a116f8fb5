"""The run's hyperparameters, for every logger, and TensorBoard's HPARAMS tab."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.tensorboard.summary import hparams

from vae_exp.models.metrics import SUMMARY_METRICS


def run_hyperparameters(trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
    """The settings that tell runs apart, read from the objects being trained."""
    settings = {**pl_module.hparams, "kl_weight": getattr(pl_module, "kl_weight", None)}
    params: dict[str, Any] = {
        key: settings[key]
        for key in (
            "latent_dim",
            "kl_weight",
            "kl_warmup_epochs",
            "conditional",
            "reparameterization",
        )
        if settings.get(key) is not None
    }
    encoder = pl_module.hparams.get("encoder")
    if isinstance(encoder, dict) and "_target_" in encoder:
        params["network"] = str(encoder["_target_"]).rsplit(".", 1)[-1]
    for part in ("likelihood", "objective"):
        if hasattr(getattr(pl_module, part, None), "describe"):
            params[part] = getattr(pl_module, part).describe()
    datamodule = trainer.datamodule
    if datamodule is not None:
        params["digits"] = ",".join(str(d) for d in getattr(datamodule, "digits", ()))
        params["batch_size"] = getattr(datamodule, "batch_size", None)
        params["data_source"] = getattr(datamodule, "source_used", None)
        params["binarize"] = getattr(datamodule, "binarize", None)
    if trainer.optimizers:
        optimizer = trainer.optimizers[0]
        params["optimizer"] = type(optimizer).__name__
        params["lr"] = optimizer.defaults.get("lr")
    params["max_epochs"] = trainer.max_epochs
    params["seed"] = int(os.environ.get("PL_GLOBAL_SEED", -1))
    return {key: value for key, value in params.items() if value is not None}


class HyperparameterSummary(pl.Callback):
    """Gives every logger the run's hyperparameters, and TensorBoard the metrics beside them.

    TensorBoard's HPARAMS tab shows, for each run, the last value of each
    declared metric's scalar, so the metric columns fill in as training logs
    them (declaring no metric is what leaves those columns empty). Lightning's
    public `log_hyperparams(params, metrics)` would also log each declared
    metric's placeholder as a scalar at step 0, a false first point on every
    curve; so the declaration goes straight to the writer's file writer.

    Args:
        metrics: scalar tags shown in the HPARAMS tab.
    """

    def __init__(self, metrics: Sequence[str] = SUMMARY_METRICS) -> None:
        self.metrics = tuple(metrics)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        params = run_hyperparameters(trainer, pl_module)
        for logger in trainer.loggers:
            logger.log_hyperparams(params)
        if not trainer.is_global_zero:
            return
        declaration = hparams(params, dict.fromkeys(self.metrics, 0.0))
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                for summary in declaration:  # experiment, session start, session end
                    logger.experiment.file_writer.add_summary(summary)
