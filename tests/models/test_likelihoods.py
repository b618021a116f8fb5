"""The likelihoods p(x | z) are densities, and the pictures show their means."""

from __future__ import annotations

import pytest
import torch

from vae_exp.models.likelihoods import Bernoulli, ContinuousBernoulli, Gaussian
from vae_exp.models.losses import pixel_bce


def _integral(density: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    return torch.trapezoid(density, points, dim=-1)


def test_continuous_bernoulli_is_a_density_on_the_unit_interval():
    logits = torch.tensor([-6.0, -1.0, 0.0, 1e-3, 2.0, 6.0]).unsqueeze(1)
    x = torch.linspace(0, 1, 20001, dtype=torch.float64).expand(len(logits), -1)
    density = ContinuousBernoulli().log_prob(logits.double().expand_as(x), x).exp()
    assert _integral(density, x[0]) == pytest.approx(torch.ones(len(logits)), abs=1e-6)
    # Unlike the Bernoulli "density" of grey levels, which falls short of 1.
    bernoulli = Bernoulli().log_prob(logits.double().expand_as(x), x).exp()
    assert (_integral(bernoulli, x[0])[1:-1] < 0.99).all()


@pytest.mark.parametrize("sigma", [0.05, 0.3, "learned"])
def test_gaussian_is_a_density_and_learns_only_a_learned_sigma(sigma):
    likelihood = Gaussian(sigma).double()
    x = torch.linspace(-8, 9, 200001, dtype=torch.float64)
    output = torch.full_like(x, 0.7)
    density = likelihood.log_prob(output, x).detach().exp()
    assert _integral(density, x).item() == pytest.approx(1.0, abs=1e-6)
    assert likelihood.log_sigma.requires_grad == (sigma == "learned")


def test_bernoulli_is_the_reference_cross_entropy_and_sums_to_one_on_binary_pixels():
    logits = torch.randn(4, 1, 28, 28)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(Bernoulli().log_prob(logits, x), -pixel_bce(logits, x))
    total = sum(Bernoulli().log_prob(logits, torch.full_like(x, v)).exp() for v in (0.0, 1.0))
    assert torch.allclose(total, torch.ones_like(total), atol=1e-5)


def test_pictures_show_each_likelihoods_mean_within_the_unit_interval():
    output = torch.linspace(-30, 30, 101)
    for likelihood in (Bernoulli(), ContinuousBernoulli(), Gaussian(0.1)):
        mean = likelihood.mean(output)
        assert mean.min() >= 0 and mean.max() <= 1 and (mean.diff() >= 0).all()
