"""The importance-sampled likelihood: exact on a linear-Gaussian model, a bound that tightens."""

from __future__ import annotations

import math

import pytest
import torch

from vae_exp.analysis.likelihood import importance_sampled_log_likelihood
from vae_exp.models import VAE
from vae_exp.models.importance import log_normal

W, SIGMA = 2.0, 0.5  # p(z) = N(0, 1), p(x | z) = N(W z, SIGMA^2), so p(x) = N(0, W^2 + SIGMA^2)


def _linear_gaussian_log_likelihood(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    mean = W * z  # (N, k, 1)
    observed = x[:, None, None].expand_as(mean)
    return log_normal(observed, mean, torch.full_like(mean, 2 * math.log(SIGMA)))


def _exact_log_px(x: torch.Tensor) -> torch.Tensor:
    variance = W**2 + SIGMA**2
    return -0.5 * (math.log(2 * math.pi * variance) + x.square() / variance)


def _true_posterior(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    variance = 1 / (1 + W**2 / SIGMA**2)
    return (variance * W * x / SIGMA**2).unsqueeze(1), torch.full((len(x), 1), math.log(variance))


X = torch.linspace(-3, 3, 13, dtype=torch.float64)


@pytest.mark.parametrize("num_samples", [1, 7, 100])
def test_exact_with_the_true_posterior_for_any_k(num_samples):
    mean, log_var = _true_posterior(X)
    estimate = importance_sampled_log_likelihood(
        X, mean, log_var, _linear_gaussian_log_likelihood, num_samples
    )
    torch.testing.assert_close(estimate, _exact_log_px(X))


def test_a_poor_posterior_gives_a_bound_that_tightens_with_k():
    torch.manual_seed(0)
    mean, log_var = _true_posterior(X)
    poor = (mean + 0.3, log_var + 1.0)  # shifted and too wide
    exact = _exact_log_px(X)

    def gap(num_samples: int) -> float:
        runs = [
            importance_sampled_log_likelihood(
                X, *poor, _linear_gaussian_log_likelihood, num_samples
            )
            for _ in range(200)
        ]
        return (exact - torch.stack(runs).mean(0)).mean().item()

    gaps = [gap(k) for k in (1, 10, 1000)]
    assert gaps[0] > gaps[1] > gaps[2] >= -0.01  # log p(x) - E[estimate] >= 0 and shrinking
    assert gaps[2] < 0.02


@pytest.mark.slow
def test_vae_estimate_is_below_neg_elbo_and_meets_it_at_k_1():
    torch.manual_seed(0)
    model = VAE(latent_dim=2).eval()
    x = torch.rand(64, 1, 28, 28).round()
    with torch.no_grad():
        _, mean, log_var = model.per_image_terms(x)
        neg_elbo = torch.stack([model.per_image_terms(x)[0].neg_elbo for _ in range(50)]).mean()
        single = torch.stack(
            [
                -importance_sampled_log_likelihood(x, mean, log_var, model.log_likelihood, 1)
                for _ in range(50)
            ]
        ).mean()
        many = -importance_sampled_log_likelihood(x, mean, log_var, model.log_likelihood, 50)
    assert single.item() == pytest.approx(neg_elbo.item(), rel=2e-3)
    assert many.mean().item() < neg_elbo.item()
