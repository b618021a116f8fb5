"""Validation images beside their reconstructions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytorch_lightning as pl
import torch

from vae_exp.analysis.figures import reconstruction_grid
from vae_exp.callbacks.base import FigureCallback, Picture, validation_examples
from vae_exp.foundation.resources import require_picture
from vae_exp.foundation.values import require_int


class Reconstructions(FigureCallback):
    """A fixed set of validation images, each row above its reconstruction from z_mean.

    Tag `images/reconstructions`. The images are the first of each digit in the
    validation set, the same every epoch, so changes show learning only.

    Args:
        num_images: how many images, shared out evenly over the classes.
        ncol: images per row.
        every_n_epochs: see `FigureCallback`.
    """

    def __init__(self, num_images: int = 16, ncol: int = 8, every_n_epochs: int = 1) -> None:
        super().__init__(every_n_epochs)
        self.num_images = require_int("num_images", num_images, minimum=1)
        self.ncol = require_int("ncol", ncol, minimum=1)
        self._images: torch.Tensor | None = None
        self._labels: torch.Tensor | None = None

    def check_for(self, latent_dim: int, val_images: int, image_shape: Sequence[int]) -> None:
        shown = min(self.num_images, val_images)
        rows = 2 * math.ceil(shown / self.ncol)  # each row of images above its reconstructions
        require_picture("num_images", self.num_images, rows, min(self.ncol, shown), image_shape)

    def render(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, final: bool
    ) -> dict[str, Picture]:
        if self._images is None:
            self._images, self._labels = validation_examples(trainer, self.num_images)
        x = self._images.to(pl_module.device)
        recon = pl_module(x, self._labels)
        return {"images/reconstructions": reconstruction_grid(x, recon, self.ncol)}
