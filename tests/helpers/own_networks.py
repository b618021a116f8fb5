"""A user's own decoder that no exporter can write: Python decides, image by image, what it does."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class PerImageDecoder(nn.Module):
    """Each image's logits, negated where they sum below zero: a loop and a branch on the data.

    A graph of fixed operations cannot hold a loop over however many images
    come, nor a branch on their values, so ONNX and TorchScript both refuse it.
    """

    def __init__(
        self, latent_dim: int, init: str = "glorot", image_shape: Sequence[int] = (1, 28, 28)
    ) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.linear = nn.Linear(latent_dim, math.prod(self.image_shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        rows = [row if float(row.detach().sum()) >= 0 else -row for row in self.linear(z)]
        return torch.stack(rows).reshape(-1, *self.image_shape)
