"""Lightning callbacks: epoch log, latent-space pictures and statistics, HPARAMS."""

from vae_exp.callbacks.epoch_log import EpochLog
from vae_exp.callbacks.factor_walks import FactorWalks
from vae_exp.callbacks.hparams import HyperparameterSummary
from vae_exp.callbacks.interrupt import InterruptCheckpoint
from vae_exp.callbacks.latent_grid import LatentGrid
from vae_exp.callbacks.latent_space import LatentSpace
from vae_exp.callbacks.latent_stats import LatentStats
from vae_exp.callbacks.latent_traversal import LatentTraversal
from vae_exp.callbacks.prior_samples import PriorSamples
from vae_exp.callbacks.reconstructions import Reconstructions

__all__ = [
    "EpochLog",
    "FactorWalks",
    "HyperparameterSummary",
    "InterruptCheckpoint",
    "LatentGrid",
    "LatentSpace",
    "LatentStats",
    "LatentTraversal",
    "PriorSamples",
    "Reconstructions",
]
