"""Data sets held as uint8 image arrays (memory-mapped caches), and the data module they share.

CIFAR-10, CelebA, dSprites, Shapes3D and the user's own image folders are all
decoded once into a uint8 array (N, C, H, W) on disk (`vae_exp.data.image_cache`).
Training reads batches straight from the memory map and turns only each batch
into float32 in [0, 1], so a set never sits in memory as float32: CelebA at
64x64 is 2.5 GB as uint8, 10 GB as float32.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from vae_exp.data.batches import keep_batch
from vae_exp.data.factors import GroundTruthFactors
from vae_exp.data.image_cache import cache_key, cached_images, files_fingerprint
from vae_exp.foundation.errors import ConfigError
from vae_exp.foundation.values import require_int, require_number

log = logging.getLogger(__name__)

# A data set without a validation split holds out this share of its training images by default.
DEFAULT_VAL_SHARE = 0.1


@dataclass(frozen=True)
class ImageSplit:
    """uint8 images (N, C, H, W), int64 labels (N,), and the rows of a shared array they use."""

    images: np.ndarray
    labels: np.ndarray
    rows: np.ndarray | None = None  # None: every row, in order

    def __len__(self) -> int:
        return len(self.images) if self.rows is None else len(self.rows)

    def subset(self, chosen: np.ndarray) -> ImageSplit:
        rows = chosen if self.rows is None else self.rows[chosen]
        return ImageSplit(self.images, self.labels, np.sort(rows))


@dataclass(frozen=True)
class ImageArrays:
    """What a data set's reader hands the data module."""

    train: ImageSplit
    source: str  # what was read, for the run's record: a file or folder
    val: ImageSplit | None = None
    test: ImageSplit | None = None
    class_names: tuple[str, ...] | None = None  # labels 0..K-1; None: unlabelled images
    factors: GroundTruthFactors | None = None  # of the training rows' array


class ArrayImages(Dataset):
    """A split's images as float32 in [0, 1] with their labels, read a batch at a time."""

    def __init__(self, split: ImageSplit) -> None:
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def _rows(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        chosen = np.asarray(indices, dtype=np.int64)
        return chosen if self.split.rows is None else self.split.rows[chosen]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self.__getitems__([index])
        return images[0], labels[0]

    def __getitems__(self, indices: Sequence[int]) -> list[torch.Tensor]:
        rows = self._rows(indices)
        order = np.argsort(rows, kind="stable")  # reading the memory map in order is faster
        pixels = np.empty((len(rows), *self.split.images.shape[1:]), dtype=np.uint8)
        pixels[order] = self.split.images[rows[order]]
        images = torch.from_numpy(pixels).to(torch.float32).div_(255.0)
        return [images, torch.from_numpy(self.split.labels[rows].astype(np.int64))]


def hold_out_rows(count: int, share: float, seed: int, setting: str) -> tuple[np.ndarray, ...]:
    """Seeded training and validation row numbers: `share` of `count` (a number if >= 1)."""
    n_val = int(share) if share >= 1 else max(1, round(count * share))
    if n_val >= count:
        allowed = f"fewer images than the {count} training images"
        raise ConfigError(setting, share, allowed)
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed)).numpy()
    return order[n_val:], order[:n_val]


class ArrayDataModule(pl.LightningDataModule):
    """The data module of the array-backed sets: splits, loaders and the optional members.

    Subclasses check their own settings in `__init__` and implement `read_arrays`.
    Meets vae-exp's data-module contract with every optional member: `image_shape`,
    `classes`, `class_names`, a test loader where the set has a test split, `factors`
    where the set has ground-truth factors, and `source_used`.

    Args:
        data_dir: the data folder (`paths.data_dir`); the set's files are in it.
        cache_dir: where decoded images are cached, as uint8.
        batch_size: images per training batch.
        eval_batch_size: images per validation and test batch.
        num_workers: DataLoader worker processes; 0 reads the memory map in this process.
        val_split: share of the training images held out for validation (a number if >= 1);
            0: the set's own validation (or test) split, or a tenth where it has neither.
        seed: seeds the held-out split.
    """

    def __init__(
        self,
        data_dir: str | Path = "data",
        cache_dir: str | Path | None = None,
        batch_size: int = 64,
        eval_batch_size: int = 256,
        num_workers: int = 0,
        val_split: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.cache_dir = Path(cache_dir) if cache_dir else self.data_dir / "cache"
        self.batch_size = require_int("batch_size", batch_size, minimum=1)
        self.eval_batch_size = require_int("eval_batch_size", eval_batch_size, minimum=1)
        self.num_workers = require_int("num_workers", num_workers, minimum=0)
        self.val_split = require_number("val_split", val_split, minimum=0.0)
        if val_split >= 1 and float(val_split) != int(val_split):
            raise ConfigError("val_split", val_split, "a share in [0, 1), or a whole number")
        self.seed = seed
        self.binarize = "none"
        self.arrays: ImageArrays | None = None
        self.splits: dict[str, ImageSplit | None] = {}

    def read_arrays(self) -> ImageArrays:
        """The set's images, read (or taken from the cache); DataError if they cannot be had."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.arrays is not None:
            return
        self.arrays = arrays = self.read_arrays()
        train, val = arrays.train, arrays.val
        if self.val_split > 0 or (val is None and arrays.test is None):
            share = self.val_split or DEFAULT_VAL_SHARE
            keep, held = hold_out_rows(len(train), share, self.seed, "data.val_split")
            train, val = train.subset(keep), train.subset(held)
        elif val is None:
            val = arrays.test
        self.splits = {"train": train, "val": val, "test": arrays.test}
        log.info(
            "Data: %s: %d training, %d validation images of shape %s",
            arrays.source,
            len(train),
            len(val),
            list(self.image_shape),
        )

    @property
    def source_used(self) -> str | None:
        return None if self.arrays is None else self.arrays.source

    @property
    def image_shape(self) -> tuple[int, int, int]:
        self.setup()
        return tuple(int(n) for n in self.arrays.train.images.shape[1:])

    @property
    def class_names(self) -> tuple[str, ...] | None:
        self.setup()
        return self.arrays.class_names

    @property
    def classes(self) -> tuple[int, ...] | None:
        names = self.class_names
        return None if names is None else tuple(range(len(names)))

    @property
    def factors(self) -> GroundTruthFactors | None:
        self.setup()
        return self.arrays.factors

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        if self.splits.get("test") is None and self.arrays is not None:
            raise AttributeError("this data set has no test split")
        return self._loader("test", self.eval_batch_size, shuffle=False)

    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        self.setup()
        return DataLoader(
            ArrayImages(self.splits[split]),
            batch_size=batch_size,
            shuffle=shuffle,
            collate_fn=keep_batch,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )


def factor_set_arrays(
    datamodule: ArrayDataModule,
    name: str,
    path: Path,
    factors: GroundTruthFactors,
    class_factor: str,
    class_names: tuple[str, ...],
    image_shape: tuple[int, int, int],
    blocks: Callable[[np.ndarray], Iterable[tuple[np.ndarray, np.ndarray]]],
) -> ImageArrays:
    """The arrays of a set with ground-truth factors (dSprites, Shapes3D), from one file.

    Each image's class is its `class_factor` (the shape); `blocks(labels)` yields the
    file's images as uint8 (B, C, H, W) to build the cache the first time.
    """
    labels = factors.classes[:, factors.names.index(class_factor)]
    key = cache_key({name: files_fingerprint([path], path.parent)})
    cached = cached_images(
        datamodule.cache_dir,
        name,
        key,
        (len(labels), *image_shape),
        lambda: blocks(labels),
        {"data_set": name},
    )
    return ImageArrays(
        train=ImageSplit(cached.images, cached.labels),
        source=str(path),
        class_names=class_names[: int(labels.max()) + 1],
        factors=dataclasses.replace(factors, images=cached.images),
    )
