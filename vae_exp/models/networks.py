"""The encoders and decoders: `network=conv` (the reference), `network=conv64` and `network=mlp`.

The convolutional pair is layer for layer the network of the reference Keras
experiment (see the docs' "Model" section), for images of any shape; `conv64` is
the network of the disentanglement literature for 64x64 images. Every network
takes `image_shape` (channels, height, width), which the VAE fills in from the
data, so that no one types it. Encoder and decoder are separate
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

from vae_exp.foundation.errors import ConfigError
from vae_exp.models.initialization import initialize
from vae_exp.models.layers import Conv2dSame, ConvTranspose2dSame

IMAGE_SHAPE = (1, 28, 28)  # the reference data's: MNIST's grey 28x28 images


def _conv_features(image_shape: Sequence[int]) -> tuple[int, int, int]:
    """The shape after the encoder's convolutions: 64 maps at half the size, rounded up."""
    _, height, width = image_shape
    return 64, math.ceil(height / 2), math.ceil(width / 2)


def _with_label_maps(x: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
    """Images with one constant channel per class appended (the one-hot label, spread out)."""
    if condition is None:
        return x
    maps = condition[:, :, None, None].expand(-1, -1, *x.shape[2:]).to(x.dtype)
    return torch.cat([x, maps], dim=1)


def _with_label(values: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
    return values if condition is None else torch.cat([values, condition.to(values.dtype)], dim=1)


class _PosteriorEncoder(nn.Module):
    """An encoder whose `features` (images and label maps in) feed the mean and log-variance."""

    features: nn.Module
    z_mean: nn.Linear
    z_log_var: nn.Linear

    def forward(
        self, x: torch.Tensor, condition: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(_with_label_maps(x, condition))
        return self.z_mean(h), self.z_log_var(h)


class ConvEncoder(_PosteriorEncoder):
    """Maps images (N, C, H, W) to the posterior's mean and log-variance (N, latent_dim).

    At `image_shape` (1, 28, 28) this is the reference network. `init` is how
    the weights start (see `vae_exp.models.initialization`).
    """

    def __init__(
        self,
        latent_dim: int,
        condition_size: int = 0,
        init: str = "glorot",
        image_shape: Sequence[int] = IMAGE_SHAPE,
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.features = nn.Sequential(
            Conv2dSame(image_shape[0] + condition_size, 32, 3),
            nn.ReLU(),
            Conv2dSame(32, 64, 3, stride=2),
            nn.ReLU(),
            Conv2dSame(64, 64, 3),
            nn.ReLU(),
            Conv2dSame(64, 64, 3),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(math.prod(_conv_features(image_shape)), 32),
            nn.ReLU(),
        )
        self.z_mean = nn.Linear(32, latent_dim)
        self.z_log_var = nn.Linear(32, latent_dim)
        initialize(self, init)


class ConvDecoder(nn.Module):
    """Maps latent vectors (N, latent_dim) to pixel logits (N, C, H, W).

    It returns logits, not probabilities, so that the loss can use the
    numerically stable `binary_cross_entropy_with_logits`. An odd height or
    width is cut from the doubled size. `init` as for `ConvEncoder`.
    """

    def __init__(
        self,
        latent_dim: int,
        condition_size: int = 0,
        init: str = "glorot",
        image_shape: Sequence[int] = IMAGE_SHAPE,
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        features = _conv_features(image_shape)
        self.image_size = tuple(image_shape[1:])
        self.net = nn.Sequential(
            nn.Linear(latent_dim + condition_size, math.prod(features)),
            nn.ReLU(),
            nn.Unflatten(1, features),
            ConvTranspose2dSame(64, 32, 3, stride=2),
            nn.ReLU(),
            Conv2dSame(32, image_shape[0], 2),
        )
        initialize(self, init)

    def forward(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        output = self.net(_with_label(z, condition))
        height, width = self.image_size
        if output.shape[-2:] != (height, width):
            output = output[..., :height, :width]
        return output


CONV64_CHANNELS = (32, 32, 64, 64)  # Higgins et al. (2017), Burgess et al. (2018)
CONV64_SIZE = 64
CONV64_HIDDEN = 256


def require_64_pixels(image_shape: Sequence[int]) -> None:
    """Refuse images that are not 64x64: the four stride-2 layers end on 4x4 maps."""
    if tuple(image_shape[1:]) != (CONV64_SIZE, CONV64_SIZE):
        allowed = (
            f"images of {CONV64_SIZE}x{CONV64_SIZE} pixels, but the data's are "
            f"{image_shape[1]}x{image_shape[2]}: network=conv or mlp take any size"
        )
        raise ConfigError("network", "conv64", allowed)


class Conv64Encoder(_PosteriorEncoder):
    """The encoder of the disentanglement literature for 64x64 images, grey or colour.

    Four 4x4 convolutions of stride 2 (32, 32, 64 and 64 channels) take the
    image to 4x4 maps, then a dense layer of 256 (Higgins et al., 2017;
    Burgess et al., 2018).
    """

    def __init__(
        self,
        latent_dim: int,
        image_shape: Sequence[int] = (1, CONV64_SIZE, CONV64_SIZE),
        condition_size: int = 0,
        init: str = "pytorch",
    ) -> None:
        super().__init__()
        require_64_pixels(image_shape)
        self.latent_dim = latent_dim
        layers: list[nn.Module] = []
        channels = [image_shape[0] + condition_size, *CONV64_CHANNELS]
        for inputs, outputs in itertools.pairwise(channels):
            layers += [nn.Conv2d(inputs, outputs, 4, stride=2, padding=1), nn.ReLU()]
        features = CONV64_CHANNELS[-1] * 4 * 4
        self.features = nn.Sequential(
            *layers, nn.Flatten(), nn.Linear(features, CONV64_HIDDEN), nn.ReLU()
        )
        self.z_mean = nn.Linear(CONV64_HIDDEN, latent_dim)
        self.z_log_var = nn.Linear(CONV64_HIDDEN, latent_dim)
        initialize(self, init)


class Conv64Decoder(nn.Module):
    """The mirror of `Conv64Encoder`: dense layers, then four 4x4 transposed convolutions."""

    def __init__(
        self,
        latent_dim: int,
        image_shape: Sequence[int] = (1, CONV64_SIZE, CONV64_SIZE),
        condition_size: int = 0,
        init: str = "pytorch",
    ) -> None:
        super().__init__()
        require_64_pixels(image_shape)
        self.latent_dim = latent_dim
        channels = [*reversed(CONV64_CHANNELS), image_shape[0]]
        layers: list[nn.Module] = [
            nn.Linear(latent_dim + condition_size, CONV64_HIDDEN),
            nn.ReLU(),
            nn.Linear(CONV64_HIDDEN, channels[0] * 4 * 4),
            nn.ReLU(),
            nn.Unflatten(1, (channels[0], 4, 4)),
        ]
        for inputs, outputs in itertools.pairwise(channels):
            layers += [nn.ConvTranspose2d(inputs, outputs, 4, stride=2, padding=1), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])  # logits: no ReLU after the last layer
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
