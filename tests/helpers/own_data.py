"""A data module of a user's own: the MNIST digits with their grey levels inverted."""

from __future__ import annotations

from torch.utils.data import TensorDataset

from vae_exp.data import MNISTDigitsDataModule


def _inverted(dataset: TensorDataset | None) -> TensorDataset | None:
    if dataset is None:
        return None
    images, labels = dataset.tensors
    return TensorDataset(1 - images, labels)


class InvertedDigits(MNISTDigitsDataModule):
    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        super().setup(stage)
        same = self.val_set is self.test_set
        self.train_set, self.val_set = _inverted(self.train_set), _inverted(self.val_set)
        self.test_set = self.val_set if same else _inverted(self.test_set)
