"""Data modules that break the data-module contract, each in one way."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader


class _Images(pl.LightningDataModule):
    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.images = images

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.images, batch_size=4)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.images, batch_size=4)


class ByteImages(_Images):
    """uint8 pixels, as read from a file, not scaled to [0, 1]."""

    def __init__(self) -> None:
        super().__init__(torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8))


class UnscaledImages(_Images):
    """float pixels in 0..255."""

    def __init__(self) -> None:
        super().__init__(torch.rand(8, 1, 28, 28) * 255)


class FlatVectors(_Images):
    """Vectors (N, 784) rather than images (N, C, H, W)."""

    def __init__(self) -> None:
        super().__init__(torch.rand(8, 784))


class GoodImages(_Images):
    """The least the contract asks: images alone, in [0, 1], no labels and no classes."""

    def __init__(self) -> None:
        super().__init__(torch.rand(8, 1, 20, 24))


class NotADataModule:
    def train_dataloader(self) -> DataLoader:
        return DataLoader(torch.rand(8, 1, 28, 28), batch_size=4)
