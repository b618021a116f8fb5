"""One path for pictures to every logger that accepts images.

The figure callbacks draw image tensors (C, H, W in [0, 1]) and matplotlib
figures. TensorBoard takes both as they are; MLflow and W&B take RGB arrays;
a logger without images (CSV) gets nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pytorch_lightning.loggers import Logger, MLFlowLogger, TensorBoardLogger, WandbLogger

Picture = torch.Tensor | Figure


def log_pictures(loggers: Iterable[Logger], pictures: Mapping[str, Picture], step: int) -> None:
    """Send each picture, under its tag, to every logger that accepts images."""
    arrays: dict[str, np.ndarray] = {}  # each picture rendered once, for all that take arrays

    def array(tag: str) -> np.ndarray:
        if tag not in arrays:
            arrays[tag] = rgb_array(pictures[tag])
        return arrays[tag]

    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            _to_tensorboard(logger, pictures, step)
        elif isinstance(logger, MLFlowLogger):
            send = getattr(logger, "log_image", None) or _mlflow_image(logger)
            for tag in pictures:  # `key` and `step`: MLflow keeps every epoch's, as a series
                send(array(tag), key=tag, step=step)
        elif isinstance(logger, WandbLogger):
            for tag in pictures:
                logger.log_image(key=tag, images=[array(tag)], step=step)


def _mlflow_image(logger: MLFlowLogger):
    """Lightning's own MLflow logger has no picture method: call the client directly."""

    def send(image: np.ndarray, key: str, step: int) -> None:
        logger.experiment.log_image(logger.run_id, image, key=key, step=step)

    return send


def rgb_array(picture: Picture) -> np.ndarray:
    """A picture as an (H, W, 3) uint8 array, the format image-logging APIs share."""
    if isinstance(picture, Figure):
        canvas = FigureCanvasAgg(picture)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()
    image = picture.detach().float().cpu().clamp(0, 1)
    if image.dim() == 2:
        image = image.unsqueeze(0)
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    return (image.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()


def _to_tensorboard(logger: TensorBoardLogger, pictures: Mapping[str, Picture], step: int) -> None:
    writer = logger.experiment
    for tag, picture in pictures.items():
        if isinstance(picture, Figure):
            writer.add_figure(tag, picture, global_step=step, close=False)
        else:
            writer.add_image(tag, picture, global_step=step)
    writer.flush()
