"""The encoder and decoder: shapes for several latent sizes and the reference's layer sizes."""

from __future__ import annotations

import pytest
import torch

from vae_exp.models import VAE
from vae_exp.models.networks import ConvDecoder, ConvEncoder


@pytest.mark.parametrize("latent_dim", [1, 2, 4, 8, 32])
def test_shapes(latent_dim):
    x = torch.rand(3, 1, 28, 28)
    z_mean, z_log_var = ConvEncoder(latent_dim)(x)
    assert z_mean.shape == z_log_var.shape == (3, latent_dim)
    assert ConvDecoder(latent_dim)(torch.randn(5, latent_dim)).shape == (5, 1, 28, 28)
    vae = VAE(latent_dim=latent_dim)
    assert vae(x).shape == x.shape
    assert vae.sample(2).shape == (2, 1, 28, 28)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_the_reference_layer_table():
    # Weights + biases of each Keras layer in the reference model with latent size 4.
    encoder = (
        (3 * 3 * 1 * 32 + 32)  # conv_0
        + (3 * 3 * 32 * 64 + 64)  # conv_1
        + 2 * (3 * 3 * 64 * 64 + 64)  # conv_2, conv_3
        + (12544 * 32 + 32)  # dense_0
        + 2 * (32 * 4 + 4)  # dense_z_mean, dense_z_log_var
    )
    decoder = (4 * 12544 + 12544) + (3 * 3 * 64 * 32 + 32) + (2 * 2 * 32 * 1 + 1)
    assert _count(ConvEncoder(4)) == encoder == 494_376
    assert _count(ConvDecoder(4)) == decoder == 81_313


def test_decode_gives_probabilities():
    vae = VAE(latent_dim=4)
    images = vae.decode(torch.randn(4, 4) * 10)
    assert images.min() >= 0 and images.max() <= 1
