"""The reference post's grid of decoded images over two latent dimensions."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

import pytorch_lightning as pl
import torch

from vae_exp.analysis.figures import latent_grid_figure, tile_grid
from vae_exp.analysis.latent_vectors import grid_vectors, value_range
from vae_exp.callbacks.base import FigureCallback, Picture, class_tag, drawn_classes
from vae_exp.foundation.resources import require_picture
from vae_exp.foundation.values import require_dims, require_int, require_number

log = logging.getLogger(__name__)


class LatentGrid(FigureCallback):
    """A steps x steps grid of decoded latent vectors over each pair of `grids`.

    Columns follow the pair's first dimension (low to high, left to right), rows
    the second (high at the top); the other dimensions stay at `fixed`. Tiles
    are separated by 1-pixel grey (0.7) gaps. Tags `images/latent_grid/<i>_<j>`
    each epoch; at the end of training also `figures/latent_grid/<i>_<j>`, the
    same grid with axes labelled "Latent dimension i" and ticks at the values.

    Args:
        grids: pairs of dimensions, e.g. [[1, 2], [0, 3]]. Pairs that the latent
            space does not have are left out with a warning; if none is left and
            the space has two dimensions or more, [0, 1] is drawn.
        low, high, steps: the values along both axes.
        fixed: the value of the other dimensions.
        every_n_epochs: see `FigureCallback`.
    """

    def __init__(
        self,
        grids: Sequence[Sequence[int]] = ((1, 2),),
        low: float = -2.0,
        high: float = 2.0,
        steps: int = 9,
        fixed: float = 0.0,
        every_n_epochs: int = 1,
    ) -> None:
        super().__init__(every_n_epochs)
        self.grids = [tuple(require_dims("grids", pair, count=2)) for pair in grids]
        self.values = value_range(
            require_number("low", low),
            require_number("high", high),
            require_int("steps", steps, minimum=1),
        )
        self.fixed = require_number("fixed", fixed)
        self._pairs: list[tuple[int, int]] | None = None

    def check_for(self, latent_dim: int, val_images: int, image_shape: Sequence[int]) -> None:
        steps = len(self.values)
        require_picture("steps", steps, steps, steps, image_shape)

    def pairs_for(self, latent_dim: int) -> list[tuple[int, int]]:
        pairs = [(i, j) for i, j in self.grids if max(i, j) < latent_dim and min(i, j) >= 0]
        for pair in sorted(set(self.grids) - set(pairs)):
            log.warning(
                "Latent grid %s left out: the latent space has %d dimensions",
                list(pair),
                latent_dim,
            )
        if not pairs and latent_dim >= 2:
            pairs = [(0, 1)]
        return pairs

    def render(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, final: bool
    ) -> dict[str, Picture]:
        if self._pairs is None:
            self._pairs = self.pairs_for(pl_module.latent_dim)
        base = torch.full((pl_module.latent_dim,), float(self.fixed))
        pictures: dict[str, Picture] = {}
        for (i, j), label in itertools.product(self._pairs, drawn_classes(pl_module)):
            z = grid_vectors(base, i, j, self.values, self.values).to(pl_module.device)
            grid = tile_grid(pl_module.decode(z, label), ncol=len(self.values))
            pictures[class_tag(f"images/latent_grid/{i}_{j}", label)] = grid
            if final:
                pictures[class_tag(f"figures/latent_grid/{i}_{j}", label)] = latent_grid_figure(
                    grid, self.values, self.values, i, j
                )
        return pictures
