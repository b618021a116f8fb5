"""Latent vectors to decode: traversals and grids over chosen dimensions.

Pure functions on tensors, shared by the TensorBoard callbacks and the
command-line tools, so that both draw exactly the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def check_dims(dims: Sequence[int], latent_dim: int) -> None:
    """Raise ValueError unless every dimension index exists in a latent_dim space."""
    bad = [d for d in dims if not 0 <= d < latent_dim]
    if bad:
        raise ValueError(
            f"latent dimension(s) {bad} out of range: the latent space has dimensions "
            f"0..{latent_dim - 1}"
        )


def traversal_vectors(base: torch.Tensor, dim: int, values: torch.Tensor) -> torch.Tensor:
    """`base` repeated once per value, with coordinate `dim` set to that value: (steps, D)."""
    check_dims([dim], base.numel())
    vectors = base.reshape(1, -1).repeat(len(values), 1)
    vectors[:, dim] = values.to(vectors.dtype)
    return vectors


def traversal_rows(base: torch.Tensor, dims: Sequence[int], values: torch.Tensor) -> torch.Tensor:
    """One traversal row per dimension in `dims`, stacked: (len(dims) * steps, D)."""
    return torch.cat([traversal_vectors(base, d, values) for d in dims])


def grid_vectors(
    base: torch.Tensor, dim_x: int, dim_y: int, values_x: torch.Tensor, values_y: torch.Tensor
) -> torch.Tensor:
    """Latent vectors of a grid, row by row from the top: (len(values_y) * len(values_x), D).

    Columns follow `dim_x` from left (lowest) to right; rows follow `dim_y` from
    the top (highest) to the bottom, so that the picture reads like a plot.
    """
    check_dims([dim_x, dim_y], base.numel())
    if dim_x == dim_y:
        raise ValueError(f"a grid needs two different dimensions, got {dim_x} twice")
    ys, xs = torch.meshgrid(values_y.flip(0), values_x, indexing="ij")
    vectors = base.reshape(1, -1).repeat(xs.numel(), 1)
    vectors[:, dim_x] = xs.reshape(-1).to(vectors.dtype)
    vectors[:, dim_y] = ys.reshape(-1).to(vectors.dtype)
    return vectors


def value_range(low: float, high: float, steps: int) -> torch.Tensor:
    """`steps` evenly spaced values from low to high, both included."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return torch.linspace(low, high, steps)
