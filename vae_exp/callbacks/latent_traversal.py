"""One row per latent dimension, each varying that dimension alone."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from vae_exp.analysis.figures import tile_grid
from vae_exp.analysis.latent_vectors import traversal_rows, value_range
from vae_exp.callbacks.base import FigureCallback, Picture, validation_image


class LatentTraversal(FigureCallback):
    """Row d varies latent dimension d over [low, high] while the others stay at `base`.

    Tag `images/latent_traversal`. The reference post varies dimension 0 from
    -2 to 2 in 8 steps with the others at 1 (`base: ones`).

    Args:
        low, high, steps: the values each dimension takes.
        base: the other dimensions' values: `ones`, `zeros`, or the index of a
            validation image whose posterior mean is used.
        dims: the dimensions to traverse; None for all.
        every_n_epochs: see `FigureCallback`.
    """

    def __init__(
        self,
        low: float = -2.0,
        high: float = 2.0,
        steps: int = 8,
        base: str | int = "ones",
        dims: list[int] | None = None,
        every_n_epochs: int = 1,
    ) -> None:
        super().__init__(every_n_epochs)
        if not (base in ("ones", "zeros") or (isinstance(base, int) and base >= 0)):
            raise ValueError(f"base must be 'ones', 'zeros' or an image index >= 0, got {base!r}")
        self.values = value_range(low, high, steps)
        self.base = base
        self.dims = dims

    def base_vector(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> torch.Tensor:
        if self.base == "ones":
            return torch.ones(pl_module.latent_dim)
        if self.base == "zeros":
            return torch.zeros(pl_module.latent_dim)
        image = validation_image(trainer, self.base)
        z_mean, _ = pl_module.encode(image[None].to(pl_module.device))
        return z_mean[0].cpu()

    def render(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, final: bool
    ) -> dict[str, Picture]:
        dims = self.dims if self.dims is not None else range(pl_module.latent_dim)
        z = traversal_rows(self.base_vector(trainer, pl_module), list(dims), self.values)
        images = pl_module.decode(z.to(pl_module.device))
        return {"images/latent_traversal": tile_grid(images, ncol=len(self.values))}
