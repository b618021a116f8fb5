"""The data modules: MNIST-format sets, the standard image sets, and the user's own folders.

Each meets the data-module contract of `vae_exp.data.contract`.
"""

from vae_exp.data.celeba import CelebADataModule
from vae_exp.data.cifar10 import CIFAR10DataModule
from vae_exp.data.datamodule import MNISTDigitsDataModule
from vae_exp.data.dsprites import DSpritesDataModule
from vae_exp.data.image_folder import ImageFolderDataModule
from vae_exp.data.shapes3d import Shapes3DDataModule

__all__ = [
    "CIFAR10DataModule",
    "CelebADataModule",
    "DSpritesDataModule",
    "ImageFolderDataModule",
    "MNISTDigitsDataModule",
    "Shapes3DDataModule",
]
