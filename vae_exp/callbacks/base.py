"""What the figure callbacks share: when to draw, where the pictures go, which images to use."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import pytorch_lightning as pl
import torch
from matplotlib.figure import Figure
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import save_image

from vae_exp.foundation import atomic
from vae_exp.foundation.values import require_int
from vae_exp.loggers.adapters import log_pictures
from vae_exp.loggers.pictures import Picture
from vae_exp.models.batches import labels_or_zeros
from vae_exp.runs.layout import FIGURES_DIR

log = logging.getLogger(__name__)


def tensorboard_writer(trainer: pl.Trainer) -> SummaryWriter | None:
    """The SummaryWriter of the trainer's TensorBoard logger, for what only TensorBoard shows."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


@contextlib.contextmanager
def evaluating(module: torch.nn.Module) -> Iterator[None]:
    """Eval mode without gradients, then back to the module's previous mode."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)


def validation_loader(trainer: pl.Trainer) -> Iterable:
    loaders = trainer.val_dataloaders
    loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
    return loader if loader is not None else trainer.datamodule.val_dataloader()


def validation_image(trainer: pl.Trainer, index: int) -> tuple[torch.Tensor, int]:
    """The index-th image of the validation set, and its class."""
    seen = 0
    for batch in validation_loader(trainer):
        images, labels = labels_or_zeros(batch)
        if index < seen + len(images):
            return images[index - seen], int(labels[index - seen])
        seen += len(images)
    raise ValueError(f"image index {index} is out of range: the validation set has {seen} images")


def validation_examples(trainer: pl.Trainer, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` validation images shared evenly over the classes, sorted by class.

    The first of each class: the validation loader does not shuffle, so these
    are the same images every epoch. Unlabelled images are one class.
    """
    kept: dict[int, list[torch.Tensor]] = {}
    for batch in validation_loader(trainer):
        images, labels = labels_or_zeros(batch)
        for image, label in zip(images, labels.tolist(), strict=True):
            if len(kept.setdefault(label, [])) < count:
                kept[label].append(image)
    classes = sorted(kept)
    per_class = math.ceil(count / len(classes))
    x = torch.stack([image for c in classes for image in kept[c][:per_class]])
    y = torch.tensor([c for c in classes for _ in kept[c][:per_class]])
    return x[:count], y[:count]


def drawn_classes(pl_module: pl.LightningModule) -> list[int | None]:
    """What to draw pictures of: each class of a conditional VAE, else the one unlabelled model."""
    return list(pl_module.classes) if getattr(pl_module, "conditional", False) else [None]


def class_tag(tag: str, label: int | None) -> str:
    """`images/samples` -> `images/samples/8` for class 8 of a conditional VAE."""
    return tag if label is None else f"{tag}/{label}"


def png_name(tag: str) -> str:
    """`images/latent_grid/1_2` -> `latent_grid_1_2.png`."""
    return "_".join(tag.split("/")[1:] or [tag]) + ".png"


class FigureCallback(pl.Callback):
    """Draws pictures after every n-th validation epoch and once at the end of training.

    Subclasses implement `render`; this class sends what it returns (image
    tensors and matplotlib figures) to every logger that accepts images and,
    at the end of training, also writes each picture as a PNG into the run's
    `figures/` folder.

    Args:
        every_n_epochs: draw after every n-th validation epoch; 0 draws only at the end.
    """

    def __init__(self, every_n_epochs: int = 1) -> None:
        self.every_n_epochs = require_int("every_n_epochs", every_n_epochs, minimum=0)
        self._logged: set[tuple[str, int]] = set()

    def render(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, final: bool
    ) -> dict[str, Picture]:
        """Pictures by tag (`images/...`); `final` is True for the end-of-training call."""
        raise NotImplementedError

    def check_for(self, latent_dim: int, val_images: int, image_shape: Sequence[int]) -> None:
        """Refuse settings that this run's latent space, validation set or memory cannot meet.

        Called before training starts, so that a wrong setting fails at once
        rather than when the first picture is drawn.
        """

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not self.every_n_epochs:
            return
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._publish(trainer, pl_module, final=False)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._publish(trainer, pl_module, final=True)

    def _publish(self, trainer: pl.Trainer, pl_module: pl.LightningModule, final: bool) -> None:
        if not trainer.is_global_zero:
            return
        # Drawing must not change training: iterating a DataLoader draws from the global RNG.
        with evaluating(pl_module), torch.random.fork_rng(devices=[]):
            pictures = self.render(trainer, pl_module, final)
        step = trainer.global_step
        # The last epoch may already have drawn the same step: log nothing twice.
        fresh = {tag: p for tag, p in pictures.items() if (tag, step) not in self._logged}
        log_pictures(trainer.loggers, fresh, step)
        self._logged.update((tag, step) for tag in fresh)
        if final and not trainer.fast_dev_run:
            folder = Path(trainer.default_root_dir) / FIGURES_DIR
            folder.mkdir(parents=True, exist_ok=True)
            files: dict[str, Picture] = {}
            for tag, picture in pictures.items():
                # Where a tensor and a figure share a name, keep the labelled figure.
                if not isinstance(files.get(png_name(tag)), Figure):
                    files[png_name(tag)] = picture
            for name, picture in files.items():
                save_picture(picture, folder / name)


def write_png(picture: Picture, handle: BinaryIO) -> None:
    """Write a picture's PNG to an open file: the files' and the LATENT tab's encoding."""
    if isinstance(picture, Figure):
        picture.savefig(handle, format="png", dpi=100)
    else:
        save_image(picture, handle, format="png")


def save_picture(picture: Picture, path: Path) -> None:
    """Write a picture as a PNG file, atomically: never half a picture under its name."""
    with atomic.atomic_open(path, "wb") as handle:
        write_png(picture, handle)


class ValidationLatents:
    """Collects a validation epoch's posterior means, log-variances and labels.

    Fed from `on_validation_batch_end` with what `VAE.validation_step` returns,
    so that latent statistics cost no extra forward pass.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._means: list[torch.Tensor] = []
        self._log_vars: list[torch.Tensor] = []
        self._labels: list[torch.Tensor] = []

    def add(self, outputs: dict[str, torch.Tensor], labels: torch.Tensor) -> None:
        self._means.append(outputs["z_mean"].detach().float().cpu())
        self._log_vars.append(outputs["posterior_log_var"].detach().float().cpu())
        self._labels.append(labels.detach().cpu())

    def __len__(self) -> int:
        return sum(len(m) for m in self._means)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z_mean (N, D), posterior log-variance (N, D), labels (N,)) in loader order."""
        return torch.cat(self._means), torch.cat(self._log_vars), torch.cat(self._labels)
