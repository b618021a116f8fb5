"""The VAE, its networks and its loss."""

from vae_exp.models.vae import VAE

__all__ = ["VAE"]
