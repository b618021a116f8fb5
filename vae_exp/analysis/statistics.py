"""Statistics of the latent codes of a data set: per-dimension KL, active units, PCA."""

from __future__ import annotations

import torch

from vae_exp.models.losses import kl_per_dimension

# Burda et al. (2016): a unit is active if Cov_x(E_q[z|x]) exceeds 0.01.
ACTIVE_UNIT_THRESHOLD = 0.01


def mean_kl_per_dimension(z_mean: torch.Tensor, posterior_log_var: torch.Tensor) -> torch.Tensor:
    """KL(q(z_d|x) || N(0, 1)) of each dimension d, averaged over the images: (D,)."""
    return kl_per_dimension(z_mean, posterior_log_var).mean(dim=0)


def active_units(z_mean: torch.Tensor, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """How many dimensions' posterior means vary across images by more than `threshold`."""
    if len(z_mean) < 2:
        return 0
    return int((z_mean.var(dim=0) > threshold).sum())


def principal_components(points: torch.Tensor, k: int = 2) -> torch.Tensor:
    """Project `points` (N, D) onto their first k principal components: (N, k).

    Fewer than k points (or dimensions) have fewer components; the missing
    coordinates are 0, so that a validation set of one image still draws.
    """
    centred = points - points.mean(dim=0, keepdim=True)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    # Fix each component's sign so that the picture does not flip between epochs.
    signs = torch.sign(v[:k].sum(dim=1, keepdim=True)).clamp(min=0) * 2 - 1
    projected = centred @ (v[:k] * signs).T
    missing = k - projected.shape[1]
    return torch.cat([projected, projected.new_zeros(len(points), missing)], dim=1)
