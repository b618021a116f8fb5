"""Lightning callbacks of vae-exp."""

from vae_exp.callbacks.epoch_log import EpochLog

__all__ = ["EpochLog"]
