"""An MNIST-format data set restricted to chosen classes, held in memory as float tensors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from vae_exp.data.batches import WholeBatches, keep_batch
from vae_exp.data.binarization import BINARIZATIONS, EVALUATION_SEED, binarized_set, fresh_draw
from vae_exp.data.contract import SPLITS
from vae_exp.data.datasets import DATASETS
from vae_exp.data.mnist_sources import SOURCES, MNISTArrays, load_mnist
from vae_exp.foundation.errors import ConfigError
from vae_exp.foundation.values import is_int, require_choice, require_int, require_number

log = logging.getLogger(__name__)

# The packaged sample has no test split; with val_split=0 this share of it validates.
SAMPLE_VAL_FRACTION = 0.2


def select_digits(
    images: torch.Tensor, labels: torch.Tensor, digits: Sequence[int]
) -> TensorDataset:
    """Keep the images of `digits`, as float32 in [0, 1] of shape (N, 1, 28, 28)."""
    keep = torch.isin(labels, torch.tensor(list(digits), dtype=labels.dtype))
    pixels = images[keep].to(torch.float32).div_(255.0).unsqueeze(1)
    return TensorDataset(pixels, labels[keep].clone())


def check_val_split(value: object) -> None:
    """A share of the training images in [0, 1), or a number of them."""
    require_number("val_split", value, minimum=0.0)
    if value >= 1 and not is_int(value):
        allowed = "a share in [0, 1), or a whole number of images, e.g. 10000"
        raise ConfigError("val_split", value, allowed)


def hold_out(dataset: TensorDataset, share: float, seed: int) -> tuple[TensorDataset, ...]:
    """Split off a seeded random `share` of `dataset` (a count if >= 1) for validation."""
    n_val = int(share) if share >= 1 else max(1, round(len(dataset) * share))
    if n_val >= len(dataset):
        allowed = f"fewer images than the {len(dataset)} training images of the chosen classes"
        raise ConfigError("data.val_split", share, allowed)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    val_idx, train_idx = order[:n_val], order[n_val:]
    return (
        TensorDataset(*(t[train_idx] for t in dataset.tensors)),
        TensorDataset(*(t[val_idx] for t in dataset.tensors)),
    )


class MNISTDigitsDataModule(pl.LightningDataModule):
    """MNIST (or Fashion-MNIST, KMNIST) filtered to the classes `digits`, loaded once into tensors.

    Validation uses the test split's images of the same digits (as the
    reference experiment does) unless `val_split` > 0, which holds out that
    share of the training images instead.

    Args:
        digits: the digit classes to keep.
        data_dir: folder holding `MNIST/raw/` in torchvision's layout.
        source: `auto`, `full` or `sample` (see `vae_exp.data.mnist_sources`).
        batch_size: images per training batch.
        eval_batch_size: images per validation batch. Larger batches validate faster
            (128: 0.35 s an epoch against 0.55 s at 16 for the reference); the logged
            figures are per-image means, the same for any batch size.
        num_workers: DataLoader worker processes; 0 is fastest for in-memory data.
        val_split: share of the training images held out for validation (a number
            of images if >= 1), or 0.
        seed: seeds the held-out split (and the training set's draw with binarize=static).
        binarize: `none`, `dynamic` or `static` (see `vae_exp.data.binarization`).
        dataset: `mnist`, `fashion_mnist` or `kmnist` (see `vae_exp.data.datasets`).
    """

    def __init__(
        self,
        digits: Sequence[int] = (1, 8),
        data_dir: str | Path = "data",
        source: str = "auto",
        batch_size: int = 16,
        eval_batch_size: int = 128,
        num_workers: int = 0,
        val_split: float = 0.0,
        seed: int = 0,
        binarize: str = "none",
        dataset: str = "mnist",
    ) -> None:
        super().__init__()
        require_int("batch_size", batch_size, minimum=1)
        require_int("eval_batch_size", eval_batch_size, minimum=1)
        require_int("num_workers", num_workers, minimum=0)
        require_choice("source", source, SOURCES)
        require_choice("dataset", dataset, tuple(DATASETS))
        check_val_split(val_split)
        require_choice("binarize", binarize, BINARIZATIONS)
        self.digits = tuple(int(d) for d in digits)
        self.data_dir = str(data_dir)
        self.source = source
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.val_split = val_split
        self.seed = seed
        self.binarize = binarize
        self.dataset = dataset
        self.source_used: str | None = None
        self.train_set: TensorDataset | None = None
        self.val_set: TensorDataset | None = None
        self.test_set: TensorDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        arrays = load_mnist(self.data_dir, self.source, self.dataset)
        self._build_splits(arrays)
        log.info(
            "Data: %s classes %s from the %s set: %d training, %d validation images",
            self.dataset,
            list(self.digits),
            arrays.source,
            len(self.train_set),
            len(self.val_set),
        )

    def _build_splits(self, arrays: MNISTArrays) -> None:
        self.source_used = arrays.source
        train = select_digits(arrays.train_images, arrays.train_labels, self.digits)
        if arrays.test_images is not None:
            self.test_set = select_digits(arrays.test_images, arrays.test_labels, self.digits)
        if self.val_split > 0:
            self.train_set, self.val_set = hold_out(train, self.val_split, self.seed)
        elif self.test_set is not None:
            self.train_set, self.val_set = train, self.test_set
        else:
            log.warning(
                "The %s set has no test split: validating on a held-out %.0f%% of its images.",
                arrays.source,
                100 * SAMPLE_VAL_FRACTION,
            )
            self.train_set, self.val_set = hold_out(train, SAMPLE_VAL_FRACTION, self.seed)
        if self.binarize != "none":
            self._binarize_splits()

    def _binarize_splits(self) -> None:
        same = self.val_set is self.test_set
        self.val_set = binarized_set(self.val_set, EVALUATION_SEED)
        if self.test_set is not None:
            self.test_set = self.val_set if same else binarized_set(self.test_set, EVALUATION_SEED)
        if self.binarize == "static":
            self.train_set = binarized_set(self.train_set, self.seed)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """With binarize=dynamic, a fresh binary draw of each training batch."""
        if self.binarize == "dynamic" and self.trainer is not None and self.trainer.training:
            images, *rest = batch
            return [fresh_draw(images), *rest]
        return batch

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, 28, 28)

    @property
    def classes(self) -> tuple[int, ...]:
        return self.digits

    @property
    def class_names(self) -> tuple[str, ...]:
        names = DATASETS[self.dataset].classes
        return tuple(names[d] for d in self.digits)

    def split(self, name: str) -> TensorDataset | None:
        """The images of split `name` (train, val, test); None for a test split the data lack."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        self.setup()
        return {"train": self.train_set, "val": self.val_set, "test": self.test_set}[name]

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """The test split's images; AttributeError for a source without one (the sample)."""
        if self.split("test") is None:
            raise AttributeError(f"the {self.source_used} data set has no test split")
        return self._loader(self.test_set, self.eval_batch_size, shuffle=False)

    def _loader(self, dataset: TensorDataset | None, batch_size: int, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError("call setup() before asking for a DataLoader")
        return DataLoader(
            WholeBatches(dataset),
            batch_size=batch_size,
            shuffle=shuffle,
            collate_fn=keep_batch,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
