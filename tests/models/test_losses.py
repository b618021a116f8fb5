"""The loss terms against hand computation, and the two reparameterisations."""

from __future__ import annotations

import math

import pytest
import torch

from vae_exp.models.losses import (
    batch_mean,
    kl_per_dimension,
    kl_term,
    per_image_terms,
    pixel_bce,
)
from vae_exp.models.reparameterization import posterior_log_var, sample


def _bce(x: float, logit: float) -> float:
    p = min(max(1 / (1 + math.exp(-logit)), 1e-7), 1 - 1e-7)
    return -(x * math.log(p) + (1 - x) * math.log(1 - p))


X = [[0.0, 1.0, 0.25, 0.5], [1.0, 0.0, 0.9, 0.1]]
LOGITS = [[-2.0, 3.0, 0.0, 40.0], [1.5, -0.5, 2.0, -25.0]]
MEAN = [[0.5, -1.0], [0.0, 2.0]]
LOG_VAR = [[0.0, -0.5], [1.0, -2.0]]


def _tensors():
    def t(rows):
        return torch.tensor(rows, dtype=torch.float64)

    return t(LOGITS).view(2, 1, 2, 2), t(X).view(2, 1, 2, 2), t(MEAN), t(LOG_VAR)


def _hand_kl(means, log_vars):
    return sum(0.5 * (m * m + math.exp(v) - 1 - v) for m, v in zip(means, log_vars, strict=True))


def _posterior(n: int) -> tuple[torch.Tensor, ...]:
    zeros = torch.zeros(n, 1, dtype=torch.float64)
    return zeros, zeros, zeros


def test_reconstruction_is_the_mean_clipped_pixel_bce():
    logits, x, _, _ = _tensors()
    expected = [
        sum(_bce(a, b) for a, b in zip(xs, ls, strict=True)) / 4
        for xs, ls in zip(X, LOGITS, strict=True)
    ]
    pixel_nll = pixel_bce(logits, x).flatten(1)
    recon = per_image_terms(pixel_nll, *_posterior(len(x)), 0.0).recon
    torch.testing.assert_close(recon, torch.tensor(expected).double())


def test_clipping_caps_a_pixel_at_minus_log_1e_minus_7():
    loss = pixel_bce(torch.tensor([[100.0]]), torch.tensor([[0.0]]))
    assert loss.item() == pytest.approx(-math.log(1e-7), rel=1e-5)


def test_kl_term_is_the_reference_formula_and_2_over_d_times_kl():
    _, _, mean, log_var = _tensors()
    expected = [
        -sum(1 + v - m * m - math.exp(v) for m, v in zip(ms, vs, strict=True)) / 2
        for ms, vs in zip(MEAN, LOG_VAR, strict=True)
    ]
    torch.testing.assert_close(kl_term(mean, log_var), torch.tensor(expected).double())
    full_kl = kl_per_dimension(mean, log_var).sum(dim=1)
    torch.testing.assert_close(kl_term(mean, log_var), 2 / 2 * full_kl)


@pytest.mark.parametrize("kl_weight", [0.0, 5e-4, 1.0])
def test_loss_combines_the_terms(kl_weight):
    logits, x, mean, log_var = _tensors()
    posterior = 2 * log_var  # as under the "blog" sampler
    pixel_nll = pixel_bce(logits, x).flatten(1)
    terms = batch_mean(per_image_terms(pixel_nll, mean, log_var, posterior, kl_weight))

    recon = [
        sum(_bce(a, b) for a, b in zip(xs, ls, strict=True)) / 4
        for xs, ls in zip(X, LOGITS, strict=True)
    ]
    kl = [2 / 2 * _hand_kl(ms, vs) for ms, vs in zip(MEAN, LOG_VAR, strict=True)]
    neg_elbo = [
        4 * r + _hand_kl(ms, [2 * v for v in vs])
        for r, ms, vs in zip(recon, MEAN, LOG_VAR, strict=True)
    ]
    assert terms.recon.item() == pytest.approx(sum(recon) / 2)
    assert terms.kl.item() == pytest.approx(sum(kl) / 2)
    assert terms.loss.item() == pytest.approx(
        sum(r + kl_weight * k for r, k in zip(recon, kl, strict=True)) / 2
    )
    assert terms.neg_elbo.item() == pytest.approx(sum(neg_elbo) / 2)


@pytest.mark.parametrize(("reparameterization", "expected_std"), [("standard", 2.0), ("blog", 4.0)])
def test_sampling_scale(reparameterization, expected_std):
    torch.manual_seed(0)
    mean = torch.full((200_000, 1), 3.0)
    log_var = torch.full((200_000, 1), math.log(4.0))
    z = sample(mean, log_var, reparameterization)
    assert z.mean().item() == pytest.approx(3.0, abs=0.05)
    assert z.std().item() == pytest.approx(expected_std, rel=0.01)
    posterior_std = torch.exp(0.5 * posterior_log_var(log_var, reparameterization))
    assert posterior_std[0].item() == pytest.approx(expected_std)


def test_huge_log_variance_does_not_overflow():
    mean, log_var = torch.zeros(1, 2), torch.full((1, 2), 500.0)
    assert torch.isfinite(sample(mean, log_var, "blog")).all()
    assert torch.isfinite(kl_term(mean, log_var)).all()
