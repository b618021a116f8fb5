"""One row per latent dimension, each varying that dimension alone."""

from __future__ import annotations

from collections.abc import Sequence

import pytorch_lightning as pl
import torch

from vae_exp.analysis.figures import tile_grid
from vae_exp.analysis.latent_vectors import traversal_rows, value_range
from vae_exp.callbacks.base import (
    FigureCallback,
    Picture,
    class_tag,
    drawn_classes,
    validation_image,
)
from vae_exp.foundation.errors import ConfigError
from vae_exp.foundation.resources import require_picture
from vae_exp.foundation.values import (
    is_int,
    require_dims,
    require_int,
    require_number,
    require_within,
)


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
        if not (base in ("ones", "zeros") or (is_int(base) and base >= 0)):
            raise ConfigError("base", base, "ones, zeros or the index of a validation image (>= 0)")
        self.values = value_range(
            require_number("low", low),
            require_number("high", high),
            require_int("steps", steps, minimum=1),
        )
        self.base = base
        self.dims = None if dims is None else require_dims("dims", dims)

    def check_for(self, latent_dim: int, val_images: int, image_shape: Sequence[int]) -> None:
        if self.dims is not None:
            require_within("dims", self.dims, latent_dim)
        rows = len(self.dims) if self.dims is not None else latent_dim
        require_picture("steps", len(self.values), rows, len(self.values), image_shape)
        if is_int(self.base) and self.base >= val_images:
            allowed = f"ones, zeros or an image index below {val_images}, the validation images"
            raise ConfigError("base", self.base, allowed)

    def base_vector(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> tuple[torch.Tensor, int | None]:
        """The base latent vector, and the class of the image it came from (if any)."""
        if self.base == "ones":
            return torch.ones(pl_module.latent_dim), None
        if self.base == "zeros":
            return torch.zeros(pl_module.latent_dim), None
        image, label = validation_image(trainer, self.base)
        z_mean, _ = pl_module.encode(image[None].to(pl_module.device), label)
        return z_mean[0].cpu(), label

    def render(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, final: bool
    ) -> dict[str, Picture]:
        dims = self.dims if self.dims is not None else range(pl_module.latent_dim)
        base, _ = self.base_vector(trainer, pl_module)
        z = traversal_rows(base, list(dims), self.values).to(pl_module.device)
        return {
            class_tag("images/latent_traversal", label): tile_grid(
                pl_module.decode(z, label), ncol=len(self.values)
            )
            for label in drawn_classes(pl_module)
        }
