"""The reference experiment's loss and the standard negative ELBO, in one place.

Per image, with P pixels, the likelihood's -log p(x_i | z) of each pixel, and
encoder outputs mean m and log-variance v over D latent dimensions:

    recon    = mean over pixels of -log p(x_i | z)    (reference: BCE, p clipped to 1e-7)
    kl       = -mean over d of (1 + v_d - m_d^2 - exp(v_d))        (= 2/D * KL)
    loss     = recon + kl_weight * kl
    neg_elbo = sum over pixels of -log p(x_i | z) + KL(q(z|x) || N(0, I))  (nats)

`loss` is the reference post's; `neg_elbo` is the figure VAE papers report and
is comparable across kl_weight and latent sizes (for one likelihood). Every
function returns one value per image; callers average over the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

from vae_exp.models.reparameterization import bounded

# Keras clips probabilities to [eps, 1 - eps] before the cross-entropy;
# clamping logits to +-log((1 - eps) / eps) is the same thing, computed stably.
KERAS_EPSILON = 1e-7
_LOGIT_LIMIT = math.log((1 - KERAS_EPSILON) / KERAS_EPSILON)


def pixel_bce(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-pixel binary cross-entropy with Keras's probability clipping, shape of x."""
    clipped = logits.clamp(-_LOGIT_LIMIT, _LOGIT_LIMIT)
    return F.binary_cross_entropy_with_logits(clipped, x, reduction="none")


def kl_per_dimension(z_mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(m, exp(v)) || N(0, 1)) of each latent dimension, shape (N, D)."""
    return 0.5 * (z_mean.square() + torch.exp(bounded(log_var)) - 1.0 - log_var)


def kl_term(z_mean: torch.Tensor, z_log_var: torch.Tensor) -> torch.Tensor:
    """The reference post's KL term: 2 / latent_dim times the KL divergence."""
    return 2.0 * kl_per_dimension(z_mean, z_log_var).mean(dim=1)


@dataclass(frozen=True)
class LossTerms:
    """The training objective and the figures reported beside it (per image or batch means)."""

    loss: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor
    neg_elbo: torch.Tensor


def per_image_terms(
    pixel_nll: torch.Tensor,
    z_mean: torch.Tensor,
    z_log_var: torch.Tensor,
    posterior_log_var: torch.Tensor,
    kl_weight: float,
) -> LossTerms:
    """All loss terms of each image of a batch, each of shape (N,).

    `pixel_nll` is -log p(x | z) of each pixel, (N, P): the binary cross-entropy
    under the reference's Bernoulli likelihood. `z_log_var` is the encoder's
    output, used by the reference KL term; `posterior_log_var` is the
    log-variance that sampling actually used, which is what the ELBO's KL
    divergence must measure.
    """
    recon = pixel_nll.mean(dim=1)
    kl = kl_term(z_mean, z_log_var)
    neg_elbo = pixel_nll.sum(dim=1) + kl_per_dimension(z_mean, posterior_log_var).sum(dim=1)
    return LossTerms(loss=recon + kl_weight * kl, recon=recon, kl=kl, neg_elbo=neg_elbo)


def batch_mean(terms: LossTerms) -> LossTerms:
    """Per-image terms averaged over the batch."""
    return LossTerms(**{f.name: getattr(terms, f.name).mean() for f in fields(terms)})
