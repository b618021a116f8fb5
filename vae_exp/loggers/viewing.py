"""How to look at a finished run in each of its loggers: the last lines of the train command."""

from __future__ import annotations

import shlex
from pathlib import Path

from omegaconf import DictConfig
from pytorch_lightning.loggers import MLFlowLogger, TensorBoardLogger

from vae_exp.loggers.csv_metrics import EpochCSVLogger
from vae_exp.loggers.extras import configured_loggers
from vae_exp.runs.layout import METRICS_FILE
from vae_exp.runs.locations import tensorboard_logdir


def viewing_lines(loggers: DictConfig | None, run_dir: str, output_root: str) -> list[str]:
    """One line per logger with something to open: a command or a file."""
    lines = []
    for _, entry, kind in configured_loggers(loggers):
        if issubclass(kind, TensorBoardLogger):
            folder = shlex.quote(tensorboard_logdir(run_dir, output_root))
            lines.append(f"TensorBoard:  tensorboard --logdir {folder}")
        elif issubclass(kind, EpochCSVLogger):
            lines.append(f"CSV:          {Path(entry.save_dir) / METRICS_FILE}")
        elif issubclass(kind, MLFlowLogger):
            uri = str(entry.tracking_uri)
            if uri.startswith(("http://", "https://")):
                lines.append(f"MLflow:       {uri} (experiment {entry.experiment_name})")
            else:
                lines.append(f"MLflow:       mlflow ui --backend-store-uri {shlex.quote(uri)}")
    return lines
