"""Importance weights of latent samples, shared by the IWAE objective and the IS-NLL estimate.

    w_k = p(x | z_k) p(z_k) / q(z_k | x),   z_k ~ q(z | x) = N(mean, exp(log_var))

under the standard normal prior. log (1/K) sum_k w_k is the importance-weighted
bound of Burda et al. (2016): IWAE trains on it, and `vae_exp.analysis.likelihood`
streams it over many samples to estimate log p(x).
"""

from __future__ import annotations

import math

import torch

_LOG_2PI = math.log(2 * math.pi)


def log_normal(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, exp(log_var)) summed over the last dimension."""
    return -0.5 * (_LOG_2PI + log_var + (z - mean).square() / log_var.exp()).sum(dim=-1)


def log_importance_weights(
    log_px_z: torch.Tensor, z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor
) -> torch.Tensor:
    """log w for each sample: (N, K) from log p(x|z) (N, K), z (N, K, D) and q's (N, 1, D)."""
    log_prior = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
    return log_px_z + log_prior - log_normal(z, mean, log_var)
