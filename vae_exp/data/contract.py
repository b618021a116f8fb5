"""What vae-exp needs of a data module, and what each optional member turns on.

The least is a `LightningDataModule` whose `train_dataloader()` and
`val_dataloader()` yield image batches (N, C, H, W) as float in [0, 1], or
(images, labels) with integer labels. Optional members, read where present:

- `image_shape`: (C, H, W), else read from the first validation batch;
- `classes`: the label values (for a conditional VAE) and `class_names`, their
  names (for per-class pictures, tables and the probes);
- `test_dataloader()`: the test split, which evaluation prefers;
- `factors`: ground-truth factors (`vae_exp.data.factors.GroundTruthFactors`),
  whose real images along each factor are drawn beside the model's traversals;
- `source_used`: what was read, for the run's record;
- `binarize`: `none`, `dynamic` or `static` for binarised images.

vae-exp's own data modules meet the same contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytorch_lightning as pl
import torch

from vae_exp.data.factors import GroundTruthFactors
from vae_exp.foundation.errors import UserError
from vae_exp.models.batches import labels_or_zeros, unpack_batch

SPLITS = ("train", "val", "test")
_LOADERS = {"train": "train_dataloader", "val": "val_dataloader", "test": "test_dataloader"}


class DataContractError(UserError):
    """A data module that does not give what vae-exp needs, said in one line."""


def check_data_module(datamodule: Any) -> tuple[int, int, int]:
    """Set the data module up and return its image shape (C, H, W), from one validation batch.

    Raises DataContractError for a module that is not a `LightningDataModule`,
    lacks a loader, or yields batches of another form; whatever `setup` raises
    (the data cannot be had) comes first.
    """
    name = type(datamodule).__name__
    if not isinstance(datamodule, pl.LightningDataModule):
        raise DataContractError(f"data: {name} is not a LightningDataModule")
    datamodule.setup("fit")
    loader = split_loader(datamodule, "val")
    if loader is None or split_loader(datamodule, "train") is None:
        raise DataContractError(f"data: {name} needs train_dataloader() and val_dataloader()")
    with torch.random.fork_rng(devices=[]):  # a loader's iterator draws a seed: leave none drawn
        batch = next(iter(loader), None)
    if batch is None:
        raise DataContractError(f"data: {name}'s validation loader yields no batches")
    images, labels = unpack_batch(batch)
    form = "batches of images (N, C, H, W) as float in [0, 1], or (images, labels)"
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise DataContractError(f"data: {name} must yield {form}; its first batch holds {got}")
    low, high = images.min().item(), images.max().item()
    if low < 0 or high > 1:
        raise DataContractError(
            f"data: {name} must yield {form}; "
            f"its first batch's values lie in [{low:.3g}, {high:.3g}]"
        )
    if labels is not None and (not isinstance(labels, torch.Tensor) or labels.is_floating_point()):
        raise DataContractError(f"data: {name}'s labels must be an integer tensor (N,)")
    declared = getattr(datamodule, "image_shape", None)
    shape = tuple(int(n) for n in images.shape[1:])
    if declared is not None and tuple(declared) != shape:
        raise DataContractError(
            f"data: {name}.image_shape is {list(declared)} but its images are {list(shape)}"
        )
    return shape


def split_loader(datamodule: Any, split: str) -> Iterable | None:
    """The loader of `split`, or None where the data module has none (no test split, say)."""
    method = getattr(datamodule, _LOADERS[split], None)
    if method is None:
        return None
    try:
        return method()
    except (AttributeError, NotImplementedError, pl.utilities.exceptions.MisconfigurationException):
        return None


def count_images(loader: Iterable) -> int:
    """The images a loader yields: its data set's length, or counted batch by batch."""
    dataset = getattr(loader, "dataset", None)
    try:
        return len(dataset)
    except TypeError:
        return sum(len(unpack_batch(batch)[0]) for batch in loader)


def labelled_batches(loader: Iterable, size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The loader's (images, labels) regrouped into batches of exactly `size` (the last shorter).

    Unlabelled images count as class 0.
    """
    pending: list[tuple[torch.Tensor, torch.Tensor]] = []
    held = 0
    for batch in loader:
        pending.append(labels_or_zeros(batch))
        held += len(pending[-1][0])
        while held >= size:
            images = torch.cat([p[0] for p in pending])
            labels = torch.cat([p[1] for p in pending])
            yield images[:size], labels[:size]
            pending, held = [(images[size:], labels[size:])], held - size
    if held:
        yield torch.cat([p[0] for p in pending]), torch.cat([p[1] for p in pending])


def class_numbers(datamodule: Any) -> tuple[int, ...] | None:
    """The label values the data have (`classes`), None where it does not say."""
    classes = getattr(datamodule, "classes", None)
    return None if classes is None else tuple(int(c) for c in classes)


def class_names(datamodule: Any) -> dict[int, str]:
    """Each label value's name: `class_names` where given, else the number itself."""
    numbers = class_numbers(datamodule) or ()
    names = getattr(datamodule, "class_names", None)
    if names is None or len(names) != len(numbers):
        return {number: str(number) for number in numbers}
    return dict(zip(numbers, (str(n) for n in names), strict=True))


def factors_of(datamodule: Any) -> GroundTruthFactors | None:
    found = getattr(datamodule, "factors", None)
    return found if isinstance(found, GroundTruthFactors) else None


def source_of(datamodule: Any) -> str | None:
    source = getattr(datamodule, "source_used", None)
    return None if source is None else str(source)


def binarization(datamodule: Any) -> str:
    return str(getattr(datamodule, "binarize", "none"))
