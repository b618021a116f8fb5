"""Weights & Biases: Lightning's `WandbLogger` (the `vae-exp[wandb]` extra) and its adapter."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from pytorch_lightning.loggers import WandbLogger

from vae_exp.loggers.adapters import LoggerAdapter
from vae_exp.loggers.pictures import Picture


class WeightsAndBiases(LoggerAdapter):
    """Pictures as W&B images, one series per tag; needs the wandb package."""

    needs = ("wandb", '"vae-exp[wandb]"')

    def log_pictures(
        self,
        logger: WandbLogger,
        pictures: Mapping[str, Picture],
        step: int,
        rgb: Callable[[str], np.ndarray],
    ) -> None:
        for tag in pictures:
            logger.log_image(key=tag, images=[rgb(tag)], step=step)
