"""The encoders and decoders: `network=conv` (the reference) and `network=mlp`.

The convolutional pair is layer for layer the network of the reference Keras
experiment (see the README's "Model" section). Encoder and decoder are separate
modules so that tools can decode latent vectors without an encoder, or encode
without a decoder. Encoders return the posterior's mean and log-variance;
decoders return one real number per pixel, which the likelihood reads.

With `condition_size` K > 0 (a conditional VAE) both also take a one-hot class
label (N, K): the encoder reads it beside the image, the decoder beside z.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from vae_exp.models.initialization import initialize
from vae_exp.models.layers import Conv2dSame, ConvTranspose2dSame

IMAGE_SHAPE = (1, 28, 28)
_FEATURE_SHAPE = (64, 14, 14)
_FEATURES = 64 * 14 * 14


def _with_label_maps(x: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
    """Images with one constant channel per class appended (the one-hot label, spread out)."""
    if condition is None:
        return x
    maps = condition[:, :, None, None].expand(-1, -1, *x.shape[2:]).to(x.dtype)
    return torch.cat([x, maps], dim=1)


def _with_label(values: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
    return values if condition is None else torch.cat([values, condition.to(values.dtype)], dim=1)


class ConvEncoder(nn.Module):
    """Maps images (N, 1, 28, 28) to the posterior's mean and log-variance (N, latent_dim).

    `init` is how the weights start (see `vae_exp.models.initialization`).
    """

    def __init__(self, latent_dim: int, condition_size: int = 0, init: str = "glorot") -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.features = nn.Sequential(
            Conv2dSame(1 + condition_size, 32, 3),
            nn.ReLU(),
            Conv2dSame(32, 64, 3, stride=2),
            nn.ReLU(),
            Conv2dSame(64, 64, 3),
            nn.ReLU(),
            Conv2dSame(64, 64, 3),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(_FEATURES, 32),
            nn.ReLU(),
        )
        self.z_mean = nn.Linear(32, latent_dim)
        self.z_log_var = nn.Linear(32, latent_dim)
        initialize(self, init)

    def forward(
        self, x: torch.Tensor, condition: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(_with_label_maps(x, condition))
        return self.z_mean(h), self.z_log_var(h)


class ConvDecoder(nn.Module):
    """Maps latent vectors (N, latent_dim) to pixel logits (N, 1, 28, 28).

    It returns logits, not probabilities, so that the loss can use the
    numerically stable `binary_cross_entropy_with_logits`. `init` as for `ConvEncoder`.
    """

    def __init__(self, latent_dim: int, condition_size: int = 0, init: str = "glorot") -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim + condition_size, _FEATURES),
            nn.ReLU(),
            nn.Unflatten(1, _FEATURE_SHAPE),
            ConvTranspose2dSame(64, 32, 3, stride=2),
            nn.ReLU(),
            Conv2dSame(32, 1, 2),
        )
        initialize(self, init)

    def forward(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(_with_label(z, condition))


def _relu_layers(sizes: Sequence[int]) -> list[nn.Module]:
    """Linear layers from each size to the next, each followed by a ReLU."""
    layers: list[nn.Module] = []
    for inputs, outputs in itertools.pairwise(sizes):
        layers += [nn.Linear(inputs, outputs), nn.ReLU()]
    return layers


class MLPEncoder(nn.Module):
    """Maps images of `image_shape` through ReLU layers of sizes `hidden` to mean and log-variance.

    `hidden=[400]`, `latent_dim=40` on 28x28 images is the 784-400-40 encoder of
    the MNIST likelihood tables (Burda et al., 2016). `init` is how the weights
    start (see `vae_exp.models.initialization`).
    """

    def __init__(
        self,
        latent_dim: int,
        hidden: Sequence[int] = (400,),
        image_shape: Sequence[int] = IMAGE_SHAPE,
        condition_size: int = 0,
        init: str = "pytorch",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        sizes = [math.prod(image_shape) + condition_size, *hidden]
        # Flatten leads, so that layer names match those of checkpoints written before labels.
        self.features = nn.Sequential(nn.Flatten(), *_relu_layers(sizes))
        self.z_mean = nn.Linear(sizes[-1], latent_dim)
        self.z_log_var = nn.Linear(sizes[-1], latent_dim)
        initialize(self, init)

    def forward(
        self, x: torch.Tensor, condition: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(_with_label(x.flatten(1), condition))
        return self.z_mean(h), self.z_log_var(h)


class MLPDecoder(nn.Module):
    """The mirror of `MLPEncoder`: latent vectors to one output per pixel of `image_shape`."""

    def __init__(
        self,
        latent_dim: int,
        hidden: Sequence[int] = (400,),
        image_shape: Sequence[int] = IMAGE_SHAPE,
        condition_size: int = 0,
        init: str = "pytorch",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        sizes = [latent_dim + condition_size, *reversed(hidden)]
        layers = _relu_layers(sizes)
        layers += [nn.Linear(sizes[-1], math.prod(image_shape))]
        layers += [nn.Unflatten(1, tuple(image_shape))]
        self.net = nn.Sequential(*layers)
        initialize(self, init)

    def forward(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(_with_label(z, condition))
