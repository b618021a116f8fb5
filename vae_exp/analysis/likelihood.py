"""Importance-sampled estimate of a VAE's log-likelihood log p(x).

    log p(x) ~= log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x),   z_k ~ q(z | x)

With K = 1 its expectation is the ELBO; as K grows it tightens towards log p(x)
(Burda et al., 2016), and it is exact for every K when q is the true posterior.
Independent of the network: the caller passes log p(x | z).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

LogLikelihood = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
IMPORTANCE_CHUNK = 32  # samples drawn and decoded at once for each image
_LOG_2PI = math.log(2 * math.pi)


def log_normal(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, exp(log_var)) summed over the last dimension."""
    return -0.5 * (_LOG_2PI + log_var + (z - mean).square() / log_var.exp()).sum(dim=-1)


def importance_sampled_log_likelihood(
    x: torch.Tensor,
    z_mean: torch.Tensor,
    log_var: torch.Tensor,
    log_likelihood: LogLikelihood,
    num_samples: int,
    chunk: int = IMPORTANCE_CHUNK,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The estimate of log p(x) for each of the N images of x: (N,).

    Args:
        z_mean, log_var: the posterior q(z|x) = N(z_mean, exp(log_var)), each (N, D).
        log_likelihood: log p(x | z) for x (N, ...) and z (N, k, D), returning (N, k).
        num_samples: K, the importance samples per image.
        chunk: samples drawn and decoded at once. The log-mean-exp is kept as a
            running log-sum-exp over the chunks, so memory does not grow with K.
        generator: seeds the samples.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    std = (0.5 * log_var).exp().unsqueeze(1)
    mean, variance = z_mean.unsqueeze(1), log_var.unsqueeze(1)
    total = torch.full((z_mean.shape[0],), -math.inf, dtype=z_mean.dtype, device=z_mean.device)
    for start in range(0, num_samples, chunk):
        k = min(chunk, num_samples - start)
        noise = torch.randn(
            (z_mean.shape[0], k, z_mean.shape[1]), generator=generator, device="cpu"
        ).to(z_mean)
        z = mean + std * noise
        log_prior = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
        log_posterior = log_normal(z, mean, variance)
        log_weights = log_likelihood(x, z) + log_prior - log_posterior
        total = torch.logaddexp(total, torch.logsumexp(log_weights, dim=1))
    return total - math.log(num_samples)
