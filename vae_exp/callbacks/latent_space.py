"""Where the validation images land in the latent space."""

from __future__ import annotations

from collections.abc import Sequence

import pytorch_lightning as pl
import torch

from vae_exp.analysis.figures import GAP_VALUE, latent_scatter_figure
from vae_exp.analysis.latent_vectors import check_dims
from vae_exp.analysis.statistics import principal_components
from vae_exp.callbacks.base import (
    FigureCallback,
    Picture,
    ValidationLatents,
    tensorboard_writer,
    validation_loader,
)
from vae_exp.foundation.values import require_choice, require_dims, require_int, require_within
from vae_exp.models.batches import first_images, labels_or_zeros


class LatentSpace(FigureCallback):
    """A scatter of the validation set's posterior means, coloured by digit.

    Tag `latent/scatter`. With two latent dimensions (or `method: dims`) it
    plots the chosen `dims`; with more (`method: auto`) or with `method: pca`
    it plots the first two principal components. At the end of training it also
    writes a TensorBoard projector embedding (tag `latent_means`) of the means
    with digit labels and image thumbnails.

    Args:
        method: `auto`, `dims` or `pca`.
        dims: the two dimensions plotted by `dims`.
        max_points: at most this many validation images (in loader order).
        projector: write the projector embedding at the end.
        every_n_epochs: see `FigureCallback`.
    """

    def __init__(
        self,
        method: str = "auto",
        dims: tuple[int, int] = (0, 1),
        max_points: int = 5000,
        projector: bool = True,
        every_n_epochs: int = 1,
    ) -> None:
        super().__init__(every_n_epochs)
        self.method = require_choice("method", method, ("auto", "dims", "pca"))
        self.dims = tuple(require_dims("dims", dims, count=2))
        self.max_points = require_int("max_points", max_points, minimum=1)
        self.projector = projector
        self.latents = ValidationLatents()

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.latents.reset()

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        if len(self.latents) < self.max_points:
            self.latents.add(outputs, labels_or_zeros(batch)[1])

    def check_for(self, latent_dim: int, val_images: int, image_shape: Sequence[int]) -> None:
        if self.method == "dims":
            require_within("dims", self.dims, latent_dim)

    def project(self, z_mean: torch.Tensor) -> tuple[torch.Tensor, list[str]]:
        """2-D coordinates of the means and the names of the two axes."""
        latent_dim = z_mean.shape[1]
        if latent_dim == 1:
            return torch.cat([z_mean, torch.zeros_like(z_mean)], 1), ["Latent dimension 0", ""]
        if self.method == "dims" or (self.method == "auto" and latent_dim == 2):
            check_dims(self.dims, latent_dim)
            i, j = self.dims
            return z_mean[:, [i, j]], [f"Latent dimension {i}", f"Latent dimension {j}"]
        return principal_components(z_mean), ["Principal component 1", "Principal component 2"]

    def render(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, final: bool
    ) -> dict[str, Picture]:
        if not len(self.latents):
            return {}
        z_mean, _, labels = self.latents.tensors()
        if not torch.isfinite(z_mean).all():  # a diverging run is stopped and reported elsewhere
            return {}
        points, names = self.project(z_mean[: self.max_points])
        return {"latent/scatter": latent_scatter_figure(points, labels[: self.max_points], names)}

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        writer = tensorboard_writer(trainer)
        if not (self.projector and trainer.is_global_zero and writer and len(self.latents)):
            return
        z_mean, _, labels = self.latents.tensors()
        if not torch.isfinite(z_mean).all():
            return
        n = min(len(z_mean), self.max_points)
        writer.add_embedding(
            z_mean[:n],
            metadata=labels[:n].tolist(),
            label_img=_first_images(trainer, n),
            global_step=trainer.global_step,
            tag="latent_means",
        )
        writer.flush()


def _first_images(trainer: pl.Trainer, n: int) -> torch.Tensor:
    """The projector's sprite: the first n validation images, grey or colour, made square.

    TensorBoard's sprite sheet takes square images only: others are centred on grey.
    """
    images = first_images(validation_loader(trainer), n)
    height, width = images.shape[-2:]
    side = max(height, width)
    if height == width:
        return images
    square = images.new_full((*images.shape[:2], side, side), GAP_VALUE)
    top, left = (side - height) // 2, (side - width) // 2
    square[..., top : top + height, left : left + width] = images
    return square
