"""A network of your own for vae-exp: a small fully connected encoder and decoder.

vae-exp builds any `nn.Module` that a config's `_target_` names. An encoder maps
images (N, 1, 28, 28) to the posterior's mean and log-variance, each
(N, latent_dim); a decoder maps latent vectors (N, latent_dim) to pixel logits
(N, 1, 28, 28). See `my_configs/network/small_mlp.yaml` for the config that
names these classes.
"""

from __future__ import annotations

import torch
from torch import nn

PIXELS = 28 * 28


class SmallMLPEncoder(nn.Module):
    """Flattened image -> one hidden ReLU layer -> mean and log-variance."""

    def __init__(self, latent_dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, hidden), nn.ReLU())
        self.z_mean = nn.Linear(hidden, latent_dim)
        self.z_log_var = nn.Linear(hidden, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.z_mean(h), self.z_log_var(h)


class SmallMLPDecoder(nn.Module):
    """Latent vector -> one hidden ReLU layer -> 28x28 pixel logits."""

    def __init__(self, latent_dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, PIXELS)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).view(-1, 1, 28, 28)
