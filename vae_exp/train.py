"""Train a VAE: `python -m vae_exp.train [overrides]`.

With no overrides this is the reference experiment; any public setting can be
overridden on the command line (see the README), and `-m` sweeps over them.
"""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ProgressBar
from pytorch_lightning.utilities import rank_zero_only

from vae_exp import run_record
from vae_exp.builders import instantiate_all
from vae_exp.checkpoints import load_checkpoint
from vae_exp.config_checks import check_optimized_metric, check_train_config
from vae_exp.errors import UserError
from vae_exp.resolvers import register_resolvers
from vae_exp.resume import resume_checkpoint, resumed_config

register_resolvers()
log = logging.getLogger(__name__)

# The data sit in memory, so DataLoader workers would only add overhead.
warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
# An internal deprecation inside Lightning itself, nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(
    lambda record: "litlogger" not in record.getMessage()
)


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
        "best_checkpoint": _best_checkpoint(trainer),
    }
    run_record.write_results(run_dir, record)
    return record


def _best_checkpoint(trainer: pl.Trainer) -> str | None:
    callback = trainer.checkpoint_callback
    return getattr(callback, "best_model_path", None) or None


@rank_zero_only
def _report(record: dict[str, Any], run_dir: str, output_root: str) -> None:
    metrics = record["metrics"]
    lines = [
        f"Finished ({record['status']}) after {record['epochs']} epochs "
        f"in {record['wall_time_s']:.0f} s:",
        f"  val/loss      {metrics.get('val/loss', float('nan')):.4f}",
        f"  val/neg_elbo  {metrics.get('val/neg_elbo', float('nan')):.2f} nats per image",
        f"  run folder    {run_dir}",
    ]
    if record["best_checkpoint"]:
        lines.append(f"  checkpoint    {record['best_checkpoint']}")
    lines.append(f"  TensorBoard:  tensorboard --logdir {output_root}")
    log.info("\n".join(lines))


def _record_failure(run_dir: str, error: BaseException) -> None:
    """A sweep job that fails leaves its reason in its folder, for the sweep's summary."""
    message = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
    run_record.write_results(run_dir, {"status": "failed", "error": message, "metrics": {}})


def _continue_curves(cfg: DictConfig, checkpoint: Path | None) -> DictConfig:
    """Have TensorBoard drop events logged after the checkpoint, so curves continue cleanly."""
    if OmegaConf.select(cfg, "logger.tensorboard") is not None:
        step = load_checkpoint(checkpoint)["global_step"] if checkpoint else 0
        OmegaConf.update(cfg, "logger.tensorboard.purge_step", step, force_add=True)
    return cfg


def _searching(hydra_cfg: Any) -> bool:
    """Whether the sweeper searches (Optuna...) rather than running a fixed list of jobs.

    A search sweeper learns of a failed trial from the exception; the basic
    sweeper would stop at the first one, so its jobs return NaN instead.
    """
    return "BasicSweeper" not in str(hydra_cfg.sweeper.get("_target_", "BasicSweeper"))


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    """Train; return `optimized_metric` (NaN for a failed sweep job) for Hydra's sweepers."""
    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    try:
        if cfg.get("resume"):
            cfg = resumed_config(cfg, list(hydra_cfg.overrides.task), Path(run_dir))
            checkpoint = resume_checkpoint(Path(run_dir))
            record = train(_continue_curves(cfg, checkpoint), resume_from=checkpoint)
        else:
            record = train(cfg)
    except UserError as error:
        log.error("%s", error)
        if in_sweep:
            _record_failure(run_dir, error)
            if _searching(hydra_cfg):
                raise
            return math.nan
        # A refused command leaves nothing behind: no new run folder, no resume record.
        own_subdir = Path(run_dir) / str(hydra_cfg.output_subdir)
        if own_subdir.name.startswith("resume-"):
            shutil.rmtree(own_subdir, ignore_errors=True)
        run_record.discard_if_unused(run_dir)
        sys.exit(2)
    except Exception as error:
        if not in_sweep:
            raise
        log.exception("Job failed")
        _record_failure(run_dir, error)
        if _searching(hydra_cfg):
            raise  # a search sweeper (Optuna) marks the trial failed and goes on
        # One job's crash must not end a grid sweep; the sweep's report names it.
        return math.nan
    _report(record, run_dir, cfg.paths.output_root)
    return record["metrics"].get(cfg.get("optimized_metric") or "val/loss", math.nan)


if __name__ == "__main__":
    main()
