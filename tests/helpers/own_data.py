"""A data module of a user's own: the MNIST digits with their grey levels inverted."""

from __future__ import annotations

from torch.utils.data import TensorDataset

from vae_exp.data import MNISTDigitsDataModule


class InvertedDigits(MNISTDigitsDataModule):
    def split(self, name: str) -> TensorDataset | None:
        dataset = super().split(name)
        if dataset is None:
            return None
        images, labels = dataset.tensors
        return TensorDataset(1 - images, labels)
