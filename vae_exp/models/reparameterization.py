"""How a latent sample is drawn from the encoder's output.

`standard` is the textbook reparameterisation, z = mean + exp(log_var / 2) * eps,
consistent with the KL term. `blog` scales eps by exp(log_var), as the reference
Keras post does; it exists for faithful reproductions. Under `blog` the
posterior really has variance exp(2 * log_var), which `posterior_log_var`
reports so that likelihood bounds stay exact.
"""

from __future__ import annotations

import torch

REPARAMETERIZATIONS = ("standard", "blog")

# exp(50) ~ 5e21 stays far inside float32's range even after the decoder's
# matrix products; real runs never come near it, so clamping here only stops an
# early runaway batch from overflowing to inf/NaN.
LOG_VAR_LIMIT = 50.0


def check_reparameterization(name: str) -> None:
    if name not in REPARAMETERIZATIONS:
        raise ValueError(f"reparameterization must be one of {REPARAMETERIZATIONS}, got {name!r}")


def bounded(log_var: torch.Tensor) -> torch.Tensor:
    """Clamp a log-variance so that exp() cannot overflow float32."""
    return log_var.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)


def posterior_log_var(z_log_var: torch.Tensor, reparameterization: str) -> torch.Tensor:
    """The log-variance of the distribution that `sample` actually draws from."""
    return 2.0 * z_log_var if reparameterization == "blog" else z_log_var


def sample(z_mean: torch.Tensor, z_log_var: torch.Tensor, reparameterization: str) -> torch.Tensor:
    """Draw z ~ q(z|x), differentiably in mean and log-variance."""
    std = torch.exp(0.5 * bounded(posterior_log_var(z_log_var, reparameterization)))
    return z_mean + std * torch.randn_like(z_mean)
