"""TensorBoard, the default logger: Lightning's `TensorBoardLogger` and its adapter."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping

import numpy as np
from matplotlib.figure import Figure
from omegaconf import DictConfig
from pytorch_lightning.loggers import TensorBoardLogger

from vae_exp.loggers.adapters import LoggerAdapter
from vae_exp.loggers.pictures import Picture
from vae_exp.runs.locations import tensorboard_logdir


class TensorBoard(LoggerAdapter):
    """Pictures as TensorBoard images (figures as they are); the `tensorboard` command to run."""

    def log_pictures(
        self,
        logger: TensorBoardLogger,
        pictures: Mapping[str, Picture],
        step: int,
        rgb: Callable[[str], np.ndarray],
    ) -> None:
        writer = logger.experiment
        for tag, picture in pictures.items():
            if isinstance(picture, Figure):
                writer.add_figure(tag, picture, global_step=step, close=False)
            else:
                writer.add_image(tag, picture, global_step=step)
        writer.flush()

    def viewing_line(self, entry: DictConfig, run_dir: str, output_root: str) -> str:
        folder = shlex.quote(tensorboard_logdir(run_dir, output_root))
        return f"TensorBoard:  tensorboard --logdir {folder}"
