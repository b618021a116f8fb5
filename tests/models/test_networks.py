"""The encoder and decoder: shapes for several latent sizes and the reference's layer sizes."""

from __future__ import annotations

import math

import pytest
import torch
from hydra.utils import instantiate

from vae_exp.models import VAE
from vae_exp.models.networks import ConvDecoder, ConvEncoder, MLPDecoder


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


def _keras_glorot_limit(shape: tuple[int, ...], transposed: bool = False) -> float:
    """Keras's Glorot-uniform bound from a PyTorch weight's shape: sqrt(6 / (fan_in + fan_out))."""
    outputs, inputs, *kernel = shape
    if transposed:
        inputs, outputs = outputs, inputs
    receptive = math.prod(kernel)
    return math.sqrt(6 / (inputs * receptive + outputs * receptive))


def _weighted_layers(module: torch.nn.Module):
    kinds = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    return [layer for layer in module.modules() if isinstance(layer, kinds)]


def test_the_reference_network_starts_as_keras_does():
    torch.manual_seed(0)
    layers = _weighted_layers(ConvEncoder(4)) + _weighted_layers(ConvDecoder(4))
    assert len(layers) == 7 + 3  # the Keras layers with weights, encoder and decoder
    for layer in layers:
        limit = _keras_glorot_limit(
            tuple(layer.weight.shape), isinstance(layer, torch.nn.ConvTranspose2d)
        )
        weight = layer.weight.detach()
        assert weight.abs().max() <= limit
        if weight.numel() >= 1000:  # a uniform draw on [-limit, limit] has sd limit / sqrt(3)
            assert weight.std().item() == pytest.approx(limit / math.sqrt(3), rel=0.1)
        assert torch.count_nonzero(layer.bias) == 0


@pytest.mark.parametrize(
    "make", [lambda: ConvDecoder(4, init="pytorch"), lambda: MLPDecoder(40, hidden=[400])]
)
def test_pytorch_start_keeps_the_layers_own_draw(make):
    torch.manual_seed(0)
    first = _weighted_layers(make())[0]  # the latent's dense layer: fan_in is small
    assert torch.count_nonzero(first.bias) > 0
    assert first.weight.abs().max() > _keras_glorot_limit(tuple(first.weight.shape))


def test_the_configs_choose_each_networks_start(compose_train):
    reference = compose_train()
    assert reference.model.encoder.init == reference.model.decoder.init == "glorot"
    mlp = compose_train("experiment=vae_binarized")
    assert mlp.model.encoder.init == mlp.model.decoder.init == "pytorch"
    glorot_mlp = instantiate(compose_train("network=mlp", "network.init=glorot").model)
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in _weighted_layers(glorot_mlp))
