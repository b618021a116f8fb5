"""MNIST loading and the digits DataModule."""

from vae_exp.data.datamodule import MNISTDigitsDataModule

__all__ = ["MNISTDigitsDataModule"]
