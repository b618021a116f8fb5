"""Binarised MNIST: `data.binarize=none|dynamic|static`.

The likelihood tables of the VAE literature train on binary images drawn from
the grey levels: `dynamic` draws each training image afresh every time it is
used, `static` draws the training set once (seeded by `seed`). Validation and
test images are drawn once with a fixed seed, the same for every run, so that
figures repeat and runs with different seeds are scored on the same images.
"""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

BINARIZATIONS = ("none", "dynamic", "static")
EVALUATION_SEED = 0


def binarized(images: torch.Tensor, seed: int) -> torch.Tensor:
    """Each pixel 1 with probability its grey level, else 0: one seeded draw.

    Kept on `torch.bernoulli`, so that the evaluation images stay those every
    earlier run was scored on.
    """
    return torch.bernoulli(images, generator=torch.Generator().manual_seed(seed))


def fresh_draw(images: torch.Tensor) -> torch.Tensor:
    """A new binary draw of a batch, for `dynamic`: pixel 1 where a uniform number is below it.

    The same distribution as `torch.bernoulli`, which takes 1.6 times as long on
    a CPU: a fortieth of the MLP preset's training step.
    """
    return torch.rand_like(images).lt_(images).to(images.dtype)


def binarized_set(dataset: TensorDataset, seed: int) -> TensorDataset:
    images, *rest = dataset.tensors
    return TensorDataset(binarized(images, seed), *rest)
