"""The two forms a data module's batch may take: images alone, or (images, labels)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def unpack_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A batch's images (N, C, H, W) and its labels, None for a batch of images alone."""
    if isinstance(batch, torch.Tensor):
        return batch, None
    images, *rest = batch
    return images, (rest[0] if rest else None)


def labels_or_zeros(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels; unlabelled images count as class 0, for per-class tables and pictures."""
    images, labels = unpack_batch(batch)
    if labels is None:
        labels = torch.zeros(len(images), dtype=torch.long)
    return images, labels


def first_images(loader: Iterable[Any], count: int) -> torch.Tensor:
    """The first `count` images of a loader."""
    taken, held = [], 0
    for batch in loader:
        if held >= count:
            break
        taken.append(unpack_batch(batch)[0])
        held += len(taken[-1])
    return torch.cat(taken)[:count]
