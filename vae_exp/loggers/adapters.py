"""How vae-exp talks to each kind of logger: one adapter per logger class.

An adapter says how its logger receives pictures, which line tells the user
where to look at a finished run, which package it needs (and how to install
it), and what to check before any folder is made. The loggers vae-exp ships
have theirs in their own files; a logger of your own brings its adapter as the
class attribute `vae_exp_adapter`, so a new logger is one file and nothing
here changes (docs/loggers.md, "A logger of your own").
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import ClassVar

import numpy as np
from hydra.utils import get_class
from omegaconf import DictConfig
from pytorch_lightning.loggers import Logger

from vae_exp.foundation.errors import UserError
from vae_exp.loggers.pictures import Picture, rgb_array

# Lightning's own logger classes, which cannot carry an adapter -> the adapter vae-exp has for each.
LIGHTNING_ADAPTERS = {
    "pytorch_lightning.loggers.TensorBoardLogger": "vae_exp.loggers.tensorboard_logger.TensorBoard",
    "pytorch_lightning.loggers.MLFlowLogger": "vae_exp.loggers.mlflow_logger.MLflow",
    "pytorch_lightning.loggers.WandbLogger": "vae_exp.loggers.wandb_logger.WeightsAndBiases",
}


class LoggerAdapter:
    """What vae-exp asks of a logger; this default takes scalars only, through Lightning.

    Attributes:
        needs: (the package the logger imports, what `pip install` installs it with), or None.
    """

    needs: ClassVar[tuple[str, str] | None] = None

    def log_pictures(
        self,
        logger: Logger,
        pictures: Mapping[str, Picture],
        step: int,
        rgb: Callable[[str], np.ndarray],
    ) -> None:
        """Send each picture under its tag; `rgb(tag)` is it as an (H, W, 3) uint8 array."""

    def viewing_line(self, entry: DictConfig, run_dir: str, output_root: str) -> str | None:
        """The line a finished run's report gives this logger: what to open, or None."""
        return None

    def check(self, entry: DictConfig, setting: str) -> None:
        """Refuse a setting of this logger (`setting` names its config) that cannot work."""


def adapter_for(logger_class: type) -> LoggerAdapter:
    """The adapter of a logger class: its own `vae_exp_adapter`, else vae-exp's for its kind."""
    own = getattr(logger_class, "vae_exp_adapter", None)
    if isinstance(own, LoggerAdapter):
        return own
    for lightning_class, adapter in _lightning_adapters():
        if issubclass(logger_class, lightning_class):
            return adapter
    return LoggerAdapter()


@functools.cache
def _lightning_adapters() -> tuple[tuple[type, LoggerAdapter], ...]:
    return tuple(
        (get_class(logger), get_class(adapter)()) for logger, adapter in LIGHTNING_ADAPTERS.items()
    )


def log_pictures(loggers: Iterable[Logger], pictures: Mapping[str, Picture], step: int) -> None:
    """Send each picture, under its tag, to every logger that accepts images."""
    arrays: dict[str, np.ndarray] = {}  # each picture rendered once, for all that take arrays

    def array(tag: str) -> np.ndarray:
        if tag not in arrays:
            arrays[tag] = rgb_array(pictures[tag])
        return arrays[tag]

    for logger in loggers:
        adapter_for(type(logger)).log_pictures(logger, pictures, step, array)


def viewing_lines(loggers: DictConfig | None, run_dir: str, output_root: str) -> list[str]:
    """One line per chosen logger with something to open: a command or a file."""
    lines = []
    for _, entry, logger_class in configured_loggers(loggers):
        line = adapter_for(logger_class).viewing_line(entry, run_dir, output_root)
        if line:
            lines.append(line)
    return lines


def configured_loggers(loggers: DictConfig | None) -> Iterator[tuple[str, DictConfig, type]]:
    """Each chosen logger's name, config and class; a wrong target is left to the build's error."""
    for name, entry in (loggers or {}).items():
        if not isinstance(entry, DictConfig) or "_target_" not in entry:
            continue
        try:
            yield name, entry, get_class(entry._target_)
        except Exception:
            continue


def check_loggers(loggers: DictConfig | None) -> None:
    """Refuse a chosen logger whose package is missing, or whose settings cannot work."""
    for name, entry, logger_class in configured_loggers(loggers):
        adapter = adapter_for(logger_class)
        if adapter.needs is not None:
            package, install = adapter.needs
            if not _importable(package):
                raise UserError(
                    f"logger={name} needs the {package} package, which is not installed: "
                    f"pip install {install}"
                )
        adapter.check(entry, f"logger.{name}")


def _importable(package: str) -> bool:
    try:
        importlib.import_module(package)
    except ImportError:
        return False
    return True
