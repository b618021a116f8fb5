"""From a composed config to a trained run: build the parts, fit, write the run's record.

Shared by the `vae-exp-train` command and the Python API (`vae_exp.fit`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig
from pytorch_lightning.callbacks import ProgressBar

from vae_exp.runs import record as run_record
from vae_exp.runs.checks import check_optimized_metric, check_train_config

log = logging.getLogger(__name__)


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a group such as `callbacks` or `logger`.

    Entries without `_target_` (or set to null) are skipped, so that a single
    callback can be switched off with `~callbacks.NAME` or `callbacks.NAME=null`.
    """
    if not group:
        return []
    return [
        instantiate(entry)
        for entry in group.values()
        if isinstance(entry, DictConfig) and "_target_" in entry
    ]


def logged_metric_names(model: pl.LightningModule, callbacks: list[Any]) -> set[str]:
    """The metrics a run will log: the model's and those of callbacks that declare theirs."""
    names = set(model.metric_names())
    for callback in callbacks:
        if hasattr(callback, "metric_names"):
            names |= callback.metric_names(model.latent_dim)
    return names


def train(cfg: DictConfig, resume_from: Path | None = None) -> dict[str, Any]:
    """Train the run that `cfg` describes and return its record (final metrics etc.).

    With `resume_from` (a checkpoint in the run's folder) training continues from
    it, in the same folder. Raises UserError, before any training, for settings
    or data that cannot work.
    """
    check_train_config(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)

    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")  # fails here, before training, if the data cannot be had
    model = instantiate(cfg.model)
    callbacks = instantiate_all(cfg.get("callbacks"))
    if not cfg.trainer.get("enable_progress_bar", True):  # Lightning refuses a bar it may not show
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    check_optimized_metric(cfg.get("optimized_metric"), logged_metric_names(model, callbacks))
    resuming = bool(cfg.get("resume"))
    run_dir = run_record.prepare_run_dir(cfg.paths.run_dir, resuming=resuming)
    log.info("%s: %s", "Resuming run" if resuming else "Run folder", run_dir)
    loggers = instantiate_all(cfg.get("logger"))
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    if not resuming:
        run_record.write_config(run_dir, cfg)

    started = time.perf_counter()
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
    except SystemExit:
        # Lightning exits after Ctrl-C or SIGTERM (InterruptCheckpoint has saved and said how
        # to resume); the record says where the run stopped.
        if not trainer.interrupted:
            raise
        record = {"status": "interrupted", "epochs": trainer.current_epoch, "metrics": {}}
        run_record.write_results(run_dir, record)
        raise SystemExit(130) from None
    record = {
        "status": "interrupted" if trainer.interrupted else "completed",
        "epochs": trainer.current_epoch,
        "wall_time_s": round(time.perf_counter() - started, 2),
        "data_source": datamodule.source_used,
        "metrics": {name: float(value) for name, value in trainer.callback_metrics.items()},
        "best_checkpoint": _best_checkpoint(trainer, run_dir),
    }
    run_record.write_results(run_dir, record)
    return record


def _best_checkpoint(trainer: pl.Trainer, run_dir: Path) -> str | None:
    """The best checkpoint, relative to the run folder so that the folder can move."""
    path = getattr(trainer.checkpoint_callback, "best_model_path", None)
    if not path:
        return None
    path, folder = Path(path).absolute(), run_dir.absolute()
    return str(path.relative_to(folder) if path.is_relative_to(folder) else path)
