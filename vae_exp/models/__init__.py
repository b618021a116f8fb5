"""The VAE, its networks and its loss.

`VAE` is imported on first use, so that the light parts (metric names, the
loss) can be used without importing PyTorch Lightning (a few seconds).
"""

from __future__ import annotations

from typing import Any

__all__ = ["VAE"]


def __getattr__(name: str) -> Any:
    if name == "VAE":
        from vae_exp.models.vae import VAE

        return VAE
    raise AttributeError(f"module 'vae_exp.models' has no attribute {name!r}")
