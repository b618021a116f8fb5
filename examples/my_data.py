"""A data module of your own: the least vae-exp needs, and nothing more.

Stripes at random angles, 32x32 grey, made from a seed: a stand-in for a data
set you read yourself. The loaders yield images alone (N, 1, 32, 32) in [0, 1],
with no labels, no image_shape and no test split; vae-exp reads what it needs
from the batches.
"""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader


def stripes(count: int, size: int, seed: int) -> torch.Tensor:
    """`count` images of soft stripes, each at its own angle and frequency."""
    generator = torch.Generator().manual_seed(seed)
    angle = torch.rand(count, 1, 1, generator=generator) * math.pi
    frequency = 2 + 4 * torch.rand(count, 1, 1, generator=generator)
    axis = torch.linspace(-1, 1, size)
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    phase = x * torch.cos(angle) + y * torch.sin(angle)
    return (0.5 + 0.5 * torch.sin(math.pi * frequency * phase)).unsqueeze(1)


class StripesDataModule(pl.LightningDataModule):
    def __init__(self, images: int = 512, size: int = 32, batch_size: int = 32, seed: int = 0):
        super().__init__()
        self.images, self.size, self.batch_size, self.seed = images, size, batch_size, seed

    def setup(self, stage: str | None = None) -> None:
        self.train_images = stripes(self.images, self.size, self.seed)
        self.val_images = stripes(max(1, self.images // 8), self.size, self.seed + 1)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_images, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_images, batch_size=self.batch_size)
