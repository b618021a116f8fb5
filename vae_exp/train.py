"""Train a VAE: `python -m vae_exp.train [overrides]`.

With no overrides this is the reference experiment; any public setting can be
overridden on the command line (see the README), and `-m` sweeps over them.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from typing import Any

import hydra
import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig

from vae_exp import run_record
from vae_exp.builders import instantiate_all
from vae_exp.config_checks import check_train_config
from vae_exp.errors import UserError
from vae_exp.paths import register_resolvers

register_resolvers()
log = logging.getLogger(__name__)

# The data sit in memory, so DataLoader workers would only add overhead.
warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
# An internal deprecation inside Lightning itself, nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(
    lambda record: "litlogger" not in record.getMessage()
)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train the run that `cfg` describes and return its record (final metrics etc.).

    Raises UserError, before any training, for settings or data that cannot work.
    """
    check_train_config(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)

    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")  # fails here, before training, if the data cannot be had
    run_dir = run_record.prepare_run_dir(cfg.paths.run_dir)
    log.info("Run folder: %s", run_dir)
    model = instantiate(cfg.model)
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        callbacks=instantiate_all(cfg.get("callbacks")),
        logger=instantiate_all(cfg.get("logger")) or False,
    )
    run_record.write_config(run_dir, cfg)

    started = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
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


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    try:
        record = train(cfg)
    except UserError as error:
        log.error("%s", error)
        if HydraConfig.get().mode == RunMode.RUN:
            run_record.discard_if_unused(HydraConfig.get().runtime.output_dir)
        sys.exit(2)
    _report(record, HydraConfig.get().runtime.output_dir, cfg.paths.output_root)
    return record["metrics"].get("val/loss")


if __name__ == "__main__":
    main()
