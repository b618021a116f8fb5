"""Executing a prepared run: build the parts, fit, write the run's record.

Shared by the `vae-exp-train` command and the Python API (`vae_exp.fit`); the
plan (`vae_exp.pipeline.plan.prepare`) has checked the config and holds the folder.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ProgressBar

from vae_exp.callbacks.base import FigureCallback
from vae_exp.callbacks.run_record import EpochRecord
from vae_exp.data.contract import (
    check_data_module,
    class_numbers,
    count_images,
    source_of,
    split_loader,
)
from vae_exp.foundation.atomic import DiskFullError
from vae_exp.foundation.errors import INTERRUPTED_EXIT, UserError
from vae_exp.foundation.process import tune_for_training
from vae_exp.pipeline.building import build, check_callbacks, instantiate_all
from vae_exp.pipeline.checks import (
    check_batch_sizes,
    check_conditional_data,
    check_image_shape,
    check_optimized_metric,
)
from vae_exp.pipeline.plan import RunPlan
from vae_exp.runs import record as run_record

log = logging.getLogger(__name__)


def logged_metric_names(model: pl.LightningModule, callbacks: list[Any]) -> set[str]:
    """The metrics a run will log: the model's and those of callbacks that declare theirs."""
    names = set(model.metric_names())
    for callback in callbacks:
        if hasattr(callback, "metric_names"):
            names |= callback.metric_names(model.latent_dim)
    return names


def execute(plan: RunPlan) -> dict[str, Any]:
    """Train the planned run and return its record (final metrics etc.).

    A resumed plan continues from its last checkpoint, in the same folder; a
    run whose epochs were all done only finishes what its interruption left
    undone (the final pictures, its record). Raises UserError, before any
    training, for data that cannot work. Whatever stops training is written
    into `results.json` (interrupted, failed), never replacing the metrics it held.
    """
    process_settings = tune_for_training()
    cfg, resume_from = plan.config, plan.resume_from
    pl.seed_everything(cfg.seed, workers=True, verbose=False)

    datamodule = build(cfg.data, "data")
    image_shape = check_data_module(datamodule)  # fails here, before training, without data
    check_image_shape(cfg.network, image_shape)
    check_conditional_data(cfg.get("conditional", False), datamodule)
    val_images = count_images(split_loader(datamodule, "val"))
    train_images = count_images(split_loader(datamodule, "train"))
    check_batch_sizes(cfg.data, train_images, val_images, image_shape)
    model = build(cfg.model, "model", **model_shape_and_classes(cfg, datamodule, image_shape))
    named = instantiate_all(cfg.get("callbacks"), "callbacks")
    check_callbacks(named, model.latent_dim, val_images, image_shape)
    callbacks = [*named.values(), EpochRecord(cfg.paths.run_dir)]
    if not cfg.trainer.get("enable_progress_bar", True):  # Lightning refuses a bar it may not show
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    check_optimized_metric(cfg.get("optimized_metric"), logged_metric_names(model, callbacks))
    resuming = plan.resuming
    run_dir = Path(cfg.paths.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log.info("%s: %s", "Resuming run" if resuming else "Run folder", run_dir)
    loggers = list(instantiate_all(cfg.get("logger"), "logger").values())
    trainer: pl.Trainer = build(
        cfg.trainer, "trainer", callbacks=callbacks, logger=loggers or False
    )
    if not resuming:
        run_record.write_config(run_dir, cfg)

    started = time.perf_counter()
    checkpoint = resume_from.checkpoint if resume_from else None
    finishing = resume_from is not None and resume_from.epochs_done >= (cfg.trainer.max_epochs or 0)
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=checkpoint, weights_only=True)
        if finishing:
            _finish(trainer, model, datamodule)
    except SystemExit:
        # Lightning exits after Ctrl-C or SIGTERM (InterruptCheckpoint has saved and said how
        # to resume); the record says where the run stopped.
        if not trainer.interrupted:
            raise
        _record(run_dir, trainer, "interrupted")
        raise SystemExit(INTERRUPTED_EXIT) from None
    except BaseException as error:
        with contextlib.suppress(Exception):  # a full disk may refuse the record too
            _record(run_dir, trainer, "failed", error=describe_error(error))
        raise
    # A finished run's final metrics are those of its last epoch, recorded when it stopped.
    keep_recorded = finishing and (run_record.read_results(run_dir) or {}).get("metrics")
    return _record(
        run_dir,
        trainer,
        "interrupted" if trainer.interrupted else stopped_status(callbacks) or "completed",
        metrics={} if keep_recorded else None,
        wall_time_s=round(time.perf_counter() - started, 2),
        data_source=source_of(datamodule),
        best_checkpoint=_best_checkpoint(trainer, run_dir),
        process_settings=process_settings,
    )


def stopped_status(callbacks: list[Any]) -> str | None:
    """The status a callback that stopped the run early gives it (a pruned trial: `pruned`)."""
    return next((c.stop_status for c in callbacks if getattr(c, "stop_status", None)), None)


def model_shape_and_classes(
    cfg: Any, datamodule: Any, image_shape: tuple[int, ...]
) -> dict[str, Any]:
    """What the model takes from the data: the image shape, and a conditional VAE's classes."""
    found = {"image_shape": list(image_shape)}
    classes = class_numbers(datamodule)
    if cfg.get("conditional", False) and classes is not None:
        found["classes"] = list(classes)
    return found


def describe_error(error: BaseException) -> str:
    """One line for a record: a user error's message, else the exception's type and message."""
    if is_disk_full(error):
        return f"no space left on the device ({getattr(error, 'filename', None) or error})"
    return str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` (or what caused it) is a full filesystem."""
    while error is not None:
        if isinstance(error, DiskFullError) or getattr(error, "errno", None) == errno.ENOSPC:
            return True
        error = error.__cause__ or error.__context__
    return False


def _record(
    run_dir: Path,
    trainer: pl.Trainer,
    status: str,
    metrics: dict[str, float] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Write the run's record; `metrics` None takes the trainer's latest values."""
    if metrics is None:
        metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
    record = {"status": status, "epochs": trainer.current_epoch, "metrics": metrics, **fields}
    return run_record.write_results(run_dir, record)


def _finish(trainer: pl.Trainer, model: pl.LightningModule, datamodule: Any) -> None:
    """Draw the end-of-training pictures of a run whose epochs were all done already.

    Lightning skips a finished fit, end-of-training hooks included, so one
    validation pass collects what the pictures need and the hooks are called here.
    """
    log.info("All %d epochs were done: drawing the final pictures", trainer.current_epoch)
    trainer.validate(model, datamodule=datamodule, verbose=False)
    for callback in trainer.callbacks:
        if isinstance(callback, FigureCallback):
            callback.on_train_end(trainer, model)


def _best_checkpoint(trainer: pl.Trainer, run_dir: Path) -> str | None:
    """The best checkpoint, relative to the run folder so that the folder can move."""
    path = getattr(trainer.checkpoint_callback, "best_model_path", None)
    if not path:
        return None
    path, folder = Path(path).absolute(), run_dir.absolute()
    return str(path.relative_to(folder) if path.is_relative_to(folder) else path)
