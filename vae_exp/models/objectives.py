"""What training minimises: `objective=elbo` (the reference's weighted loss) or `iwae`.

Both return the same four per-image terms (`LossTerms`): `loss` is what is
minimised; `recon`, `kl` and `neg_elbo` are reported beside it, with the same
meaning under either objective, so runs of both can be compared.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from vae_exp.analysis.likelihood import log_normal
from vae_exp.models import reparameterization as reparam
from vae_exp.models.losses import LossTerms, kl_per_dimension, kl_term, per_image_terms

if TYPE_CHECKING:
    from vae_exp.models.vae import VAE

Posterior = tuple[torch.Tensor, torch.Tensor]  # the posterior's mean and the log-variance sampled


class Objective(nn.Module):
    """A training objective; a module so that checkpoints may only name objective classes."""

    uses_kl_weight = True  # whether kl_weight (and its warm-up) shape the loss

    def per_image_terms(
        self, vae: VAE, x: torch.Tensor, y: torch.Tensor | None = None, kl_scale: float = 1.0
    ) -> tuple[LossTerms, Posterior]:
        """Each image's terms, each (N,), and the posterior they sampled from.

        `y` holds the class labels, which only a conditional VAE reads; `kl_scale`
        multiplies the KL coefficient (the warm-up's factor in training).
        """
        raise NotImplementedError

    def describe(self) -> str:
        """The objective's name and settings, for the run's hyperparameters."""
        return type(self).__name__


class ELBO(Objective):
    """The reference's loss: mean per-pixel reconstruction term + kl_weight x (2/D) KL.

    With the Bernoulli likelihood, recon is the mean binary cross-entropy. With
    kl_weight = D / (2 x pixels) the loss is the negative ELBO divided by the
    number of pixels (beta = 1).
    """

    def per_image_terms(
        self, vae: VAE, x: torch.Tensor, y: torch.Tensor | None = None, kl_scale: float = 1.0
    ) -> tuple[LossTerms, Posterior]:
        z_mean, z_log_var = vae.encode(x, y)
        output = vae.decoder_output(vae.reparameterize(z_mean, z_log_var), y)
        posterior = reparam.posterior_log_var(z_log_var, vae.reparameterization)
        pixel_nll = -vae.likelihood.log_prob(output, x).flatten(1)
        kl_weight = vae.kl_weight * kl_scale
        terms = per_image_terms(pixel_nll, z_mean, z_log_var, posterior, kl_weight)
        return terms, (z_mean, posterior)


class IWAE(Objective):
    """The importance-weighted bound of Burda et al. (2016) with K samples per image.

    loss = -log (1/K) sum_k p(x, z_k) / q(z_k | x), divided by the number of
    pixels (the scale of the ELBO's loss); it has no KL weight. With K = 1 it
    is the ELBO. recon, kl and neg_elbo are the ELBO's terms, averaged over the
    K samples.

    Args:
        samples: K, the importance samples per image (>= 1).
    """

    uses_kl_weight = False

    def __init__(self, samples: int = 5) -> None:
        super().__init__()
        self.samples = samples

    def per_image_terms(
        self, vae: VAE, x: torch.Tensor, y: torch.Tensor | None = None, kl_scale: float = 1.0
    ) -> tuple[LossTerms, Posterior]:
        z_mean, z_log_var = vae.encode(x, y)
        posterior = reparam.posterior_log_var(z_log_var, vae.reparameterization)
        n, k = x.shape[0], self.samples
        mean, log_var = z_mean.unsqueeze(1), reparam.bounded(posterior).unsqueeze(1)
        noise = torch.randn(n, k, z_mean.shape[1], device=z_mean.device, dtype=z_mean.dtype)
        z = mean + (0.5 * log_var).exp() * noise
        repeated = y.repeat_interleave(k) if y is not None else None
        output = vae.decoder_output(z.reshape(n * k, -1), repeated).reshape(n, k, *x.shape[1:])
        pixel_nll = -vae.likelihood.log_prob(output, x.unsqueeze(1).expand_as(output)).flatten(2)
        log_px_z = -pixel_nll.sum(dim=2)
        log_weights = log_px_z + log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
        log_weights = log_weights - log_normal(z, mean, log_var)
        bound = torch.logsumexp(log_weights, dim=1) - math.log(k)
        pixels = pixel_nll.shape[2]
        kl_divergence = kl_per_dimension(z_mean, posterior).sum(dim=1)
        terms = LossTerms(
            loss=-bound / pixels,
            recon=pixel_nll.mean(dim=(1, 2)),
            kl=kl_term(z_mean, z_log_var),
            neg_elbo=-log_px_z.mean(dim=1) + kl_divergence,
        )
        return terms, (z_mean, posterior)

    def describe(self) -> str:
        return f"IWAE(samples={self.samples})"
