"""Real images along each ground-truth factor, each above the model's reconstruction of it."""

from __future__ import annotations

from collections.abc import Sequence

import pytorch_lightning as pl
import torch

from vae_exp.analysis.figures import reconstruction_grid
from vae_exp.callbacks.base import FigureCallback, Picture
from vae_exp.data.contract import factors_of
from vae_exp.foundation.resources import require_picture
from vae_exp.foundation.values import require_int


class FactorWalks(FigureCallback):
    """For data with ground-truth factors (dSprites, Shapes3D), one picture per factor.

    Tag `images/factors/<factor>`: real images that differ in that factor only, in
    its order, above their reconstructions, to set beside the model's latent
    traversals (`images/latent_traversal/...`). Data without factors draw nothing.

    Args:
        steps: images per factor, spread evenly over its values.
        every_n_epochs: see `FigureCallback`.
    """

    def __init__(self, steps: int = 10, every_n_epochs: int = 1) -> None:
        super().__init__(every_n_epochs)
        self.steps = require_int("steps", steps, minimum=2)
        self._walks: list[tuple[str, torch.Tensor]] | None = None

    def check_for(self, latent_dim: int, val_images: int, image_shape: Sequence[int]) -> None:
        require_picture("steps", self.steps, 2, self.steps, image_shape)

    def render(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, final: bool
    ) -> dict[str, Picture]:
        if self._walks is None:
            factors = factors_of(trainer.datamodule)
            self._walks = factors.walks(self.steps) if factors is not None else []
        pictures = {}
        for name, images in self._walks:
            x = images.to(pl_module.device)
            recon = pl_module(x, _first_class(pl_module))
            pictures[f"images/factors/{name}"] = reconstruction_grid(x, recon, len(x))
        return pictures


def _first_class(pl_module: pl.LightningModule) -> int | None:
    """A conditional VAE's label for the walks: its first class."""
    return pl_module.classes[0] if getattr(pl_module, "conditional", False) else None
