"""What training minimises: `objective=elbo` (the reference's weighted loss) or `iwae`.

An objective receives what it needs and nothing else: the images, the encoder's
posterior (`Encoding`), a decoder of latent samples and the likelihood p(x | z).
Both return the same four per-image terms (`LossTerms`): `loss` is what is
minimised; `recon`, `kl` and `neg_elbo` are reported beside it, with the same
meaning under either objective, so runs of both can be compared.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from vae_exp.models import reparameterization as reparam
from vae_exp.models.importance import log_importance_weights
from vae_exp.models.likelihoods import Likelihood
from vae_exp.models.losses import LossTerms, kl_per_dimension, kl_term, per_image_terms

# Latent vectors (N, D) or samples (N, K, D) -> the decoder's output (N, ...) or (N, K, ...).
Decoder = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Encoding:
    """The encoder's posterior q(z | x) for a batch, and how z is drawn from it.

    Attributes:
        mean, log_var: the encoder's outputs, each (N, D).
        reparameterization: `standard` or `blog` (`vae_exp.models.reparameterization`).
    """

    mean: torch.Tensor
    log_var: torch.Tensor
    reparameterization: str = "standard"

    @property
    def posterior_log_var(self) -> torch.Tensor:
        """The log-variance of the distribution that `sample` draws from."""
        return reparam.posterior_log_var(self.log_var, self.reparameterization)

    def sample(self) -> torch.Tensor:
        """One z per image, differentiably."""
        return reparam.sample(self.mean, self.log_var, self.reparameterization)


class Objective(nn.Module):
    """A training objective; a module so that checkpoints may only name objective classes."""

    def per_image_terms(
        self,
        x: torch.Tensor,
        encoding: Encoding,
        decode: Decoder,
        likelihood: Likelihood,
        kl_scale: float = 1.0,
    ) -> LossTerms:
        """Each image's terms, each (N,).

        `kl_scale` multiplies the KL coefficient, for an objective that has one
        (the warm-up's factor in training).
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

    Args:
        kl_weight: the KL term's coefficient (>= 0), the command line's `kl_weight=`.
    """

    def __init__(self, kl_weight: float = 5e-4) -> None:
        super().__init__()
        self.kl_weight = kl_weight

    def per_image_terms(
        self,
        x: torch.Tensor,
        encoding: Encoding,
        decode: Decoder,
        likelihood: Likelihood,
        kl_scale: float = 1.0,
    ) -> LossTerms:
        output = decode(encoding.sample())
        pixel_nll = -likelihood.log_prob(output, x).flatten(1)
        return per_image_terms(
            pixel_nll,
            encoding.mean,
            encoding.log_var,
            encoding.posterior_log_var,
            self.kl_weight * kl_scale,
        )


class IWAE(Objective):
    """The importance-weighted bound of Burda et al. (2016) with K samples per image.

    loss = -log (1/K) sum_k p(x, z_k) / q(z_k | x), divided by the number of
    pixels (the scale of the ELBO's loss); it has no KL weight. With K = 1 it
    is the ELBO. recon, kl and neg_elbo are the ELBO's terms, averaged over the
    K samples.

    Args:
        samples: K, the importance samples per image (>= 1).
    """

    def __init__(self, samples: int = 5) -> None:
        super().__init__()
        self.samples = samples

    def per_image_terms(
        self,
        x: torch.Tensor,
        encoding: Encoding,
        decode: Decoder,
        likelihood: Likelihood,
        kl_scale: float = 1.0,
    ) -> LossTerms:
        z_mean, posterior = encoding.mean, encoding.posterior_log_var
        n, k = x.shape[0], self.samples
        mean, log_var = z_mean.unsqueeze(1), reparam.bounded(posterior).unsqueeze(1)
        noise = torch.randn(n, k, z_mean.shape[1], device=z_mean.device, dtype=z_mean.dtype)
        z = mean + (0.5 * log_var).exp() * noise
        output = decode(z)
        pixel_nll = -likelihood.log_prob(output, x.unsqueeze(1).expand_as(output)).flatten(2)
        log_px_z = -pixel_nll.sum(dim=2)
        log_weights = log_importance_weights(log_px_z, z, mean, log_var)
        bound = torch.logsumexp(log_weights, dim=1) - math.log(k)
        pixels = pixel_nll.shape[2]
        kl_divergence = kl_per_dimension(z_mean, posterior).sum(dim=1)
        return LossTerms(
            loss=-bound / pixels,
            recon=pixel_nll.mean(dim=(1, 2)),
            kl=kl_term(z_mean, encoding.log_var),
            neg_elbo=-log_px_z.mean(dim=1) + kl_divergence,
        )

    def describe(self) -> str:
        return f"IWAE(samples={self.samples})"
