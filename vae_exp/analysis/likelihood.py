"""Importance-sampled estimate of a VAE's log-likelihood log p(x).

    log p(x) ~= log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x),   z_k ~ q(z | x)

With K = 1 its expectation is the ELBO; as K grows it tightens towards log p(x)
(Burda et al., 2016), and it is exact for every K when q is the true posterior.
Independent of the network: the caller passes log p(x | z); the weights are
`vae_exp.models.importance`'s, as the IWAE objective's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from vae_exp.models.importance import log_importance_weights

LogLikelihood = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
IMPORTANCE_CHUNK = 32  # samples drawn and decoded at once for each image


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
        log_weights = log_importance_weights(log_likelihood(x, z), z, mean, variance)
        total = torch.logaddexp(total, torch.logsumexp(log_weights, dim=1))
    return total - math.log(num_samples)
