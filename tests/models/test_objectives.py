"""The objectives: the ELBO with beta = 1 and the IWAE bound."""

from __future__ import annotations

import pytest
import torch

import vae_exp
from vae_exp.models.objectives import IWAE
from vae_exp.pipeline.building import build


def _model(*overrides: str):
    return build(vae_exp.compose(list(overrides)).model, "model")


def test_elbo_with_beta_one_is_the_negative_elbo_per_pixel():
    torch.manual_seed(0)
    latent_dim = 6
    model = _model("network=mlp", f"latent_dim={latent_dim}", f"kl_weight={latent_dim / 1568}")
    terms = model.per_image_terms(torch.rand(8, 1, 28, 28))[0]
    assert torch.allclose(terms.loss * 784, terms.neg_elbo, rtol=1e-5)


def test_iwae_bound_tightens_with_more_samples_and_k1_matches_the_elbo():
    torch.manual_seed(0)
    model = _model("network=mlp", "latent_dim=4", "objective=iwae")
    x = torch.bernoulli(torch.rand(64, 1, 28, 28))
    bounds = {}
    with torch.no_grad():
        for k in (1, 50):
            model.objective = IWAE(samples=k)
            draws = [model.per_image_terms(x)[0] for _ in range(20)]
            bounds[k] = -torch.stack([t.loss for t in draws]).mean() * 784
            neg_elbo = torch.stack([t.neg_elbo for t in draws]).mean()
    assert bounds[50] > bounds[1] + 1.0  # nats per image
    assert -bounds[1] == pytest.approx(neg_elbo.item(), rel=0.01)  # K = 1: the ELBO
