"""Decoded draws from the prior, with the same noise every epoch."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytorch_lightning as pl
import torch

from vae_exp.analysis.figures import tile_grid
from vae_exp.callbacks.base import FigureCallback, Picture, class_tag, drawn_classes
from vae_exp.foundation.resources import require_picture
from vae_exp.foundation.values import require_int


class PriorSamples(FigureCallback):
    """Decodes z ~ N(0, I); the draws are fixed so that epochs can be compared.

    Tag `images/samples`.

    Args:
        num_samples: how many draws.
        ncol: images per row.
        seed: seeds the draws (independent of the training seed).
        every_n_epochs: see `FigureCallback`.
    """

    def __init__(
        self, num_samples: int = 64, ncol: int = 8, seed: int = 0, every_n_epochs: int = 1
    ) -> None:
        super().__init__(every_n_epochs)
        self.num_samples = require_int("num_samples", num_samples, minimum=1)
        self.ncol = require_int("ncol", ncol, minimum=1)
        self.seed = require_int("seed", seed, minimum=0)

    def check_for(self, latent_dim: int, val_images: int, image_shape: Sequence[int]) -> None:
        rows = math.ceil(self.num_samples / self.ncol)
        columns = min(self.ncol, self.num_samples)
        require_picture("num_samples", self.num_samples, rows, columns, image_shape)

    def render(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, final: bool
    ) -> dict[str, Picture]:
        generator = torch.Generator().manual_seed(self.seed)
        z = torch.randn(self.num_samples, pl_module.latent_dim, generator=generator)
        z = z.to(pl_module.device)
        return {
            class_tag("images/samples", label): tile_grid(pl_module.decode(z, label), self.ncol)
            for label in drawn_classes(pl_module)
        }
