"""p(x | z), the decoder's density over pixels in [0, 1]: `likelihood=...` chooses it.

The decoder outputs one real number per pixel; a likelihood turns it into a
density. `log_prob` includes every normalising constant, so `val/neg_elbo`
and the importance-sampled `-log p(x)` are in nats per image under that
density. Figures are comparable only between runs of the same likelihood on
the same data (README, "Likelihoods").
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import ContinuousBernoulli as ContinuousBernoulliDistribution

from vae_exp.foundation.errors import ConfigError
from vae_exp.models.losses import pixel_bce

LEARNED = "learned"
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class Likelihood(nn.Module):
    """p(x | z) from the decoder's per-pixel output, each channel of each pixel on its own."""

    # Whether log_prob is a density on [0, 1] (scored on dequantised 8-bit images for
    # bits per dimension) rather than a probability of the values themselves.
    is_density = False

    def log_prob(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x | z) of each pixel, the shape of x."""
        raise NotImplementedError

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        """The expected image, in [0, 1]: what the pictures show."""
        raise NotImplementedError

    def describe(self) -> str:
        """The likelihood's name and settings, for the run's hyperparameters."""
        return type(self).__name__


class Bernoulli(Likelihood):
    """Each pixel an independent Bernoulli draw: the reference's binary cross-entropy.

    Exactly normalised for binary images; on grey levels it is the usual
    cross-entropy loss, not a density (`continuous_bernoulli` is).
    Probabilities are clipped to [1e-7, 1 - 1e-7] as Keras does.
    """

    def log_prob(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return -pixel_bce(output, x)

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output)


class ContinuousBernoulli(Likelihood):
    """The properly normalised density on [0, 1] (Loaiza-Ganem & Cunningham, 2019)."""

    is_density = True

    def log_prob(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return ContinuousBernoulliDistribution(logits=output).log_prob(x)

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        return ContinuousBernoulliDistribution(logits=output).mean


def check_sigma(sigma: object, setting: str = "sigma") -> None:
    """A fixed sigma in the range the likelihood can use, or `learned`."""
    if sigma == LEARNED:
        return
    allowed = f"a number in [{Gaussian.MIN_SIGMA:g}, {Gaussian.MAX_SIGMA:g}], or {LEARNED}"
    number = isinstance(sigma, (int, float)) and not isinstance(sigma, bool)
    if not (number and Gaussian.MIN_SIGMA <= sigma <= Gaussian.MAX_SIGMA):
        raise ConfigError(setting, sigma, allowed)


class Gaussian(Likelihood):
    """A normal density per pixel around sigmoid(output), with a fixed or a learned sigma.

    A learned sigma is one number for all pixels (a calibrated decoder, Rybkin
    et al., 2021), kept within [1e-3, 1e2]; a fixed sigma outside that range is
    refused rather than clamped, so that the run records the sigma it used.

    Args:
        sigma: the standard deviation, a number in [1e-3, 1e2], or `learned`.
    """

    is_density = True
    MIN_SIGMA, MAX_SIGMA = 1e-3, 1e2
    MIN_LOG_SIGMA, MAX_LOG_SIGMA = math.log(MIN_SIGMA), math.log(MAX_SIGMA)

    def __init__(self, sigma: float | str = LEARNED) -> None:
        super().__init__()
        self.learned = sigma == LEARNED
        if not self.learned:
            check_sigma(sigma)
        initial = 0.0 if self.learned else math.log(float(sigma))
        self.log_sigma = nn.Parameter(torch.tensor(initial), requires_grad=self.learned)

    def log_prob(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        log_sigma = self.log_sigma.clamp(self.MIN_LOG_SIGMA, self.MAX_LOG_SIGMA)
        error = (x - torch.sigmoid(output)) / log_sigma.exp()
        return -0.5 * error.square() - log_sigma - _HALF_LOG_2PI

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output)

    def describe(self) -> str:
        sigma = LEARNED if self.learned else f"{self.log_sigma.exp().item():g}"
        return f"Gaussian(sigma={sigma})"
