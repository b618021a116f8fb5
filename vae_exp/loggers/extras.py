"""Loggers that need an optional extra: refused in one line, before training, if it is missing."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from hydra.utils import get_class
from omegaconf import DictConfig

from vae_exp.foundation.errors import UserError

# Lightning logger class -> (the package it needs, the vae-exp extra that installs it).
NEEDS = {
    "pytorch_lightning.loggers.MLFlowLogger": ("mlflow", "mlflow"),
    "pytorch_lightning.loggers.WandbLogger": ("wandb", "wandb"),
}


def configured_loggers(loggers: DictConfig | None) -> Iterator[tuple[str, DictConfig, type]]:
    """Each chosen logger's name, config and class; a wrong target is left to the build's error."""
    for name, entry in (loggers or {}).items():
        if not isinstance(entry, DictConfig) or "_target_" not in entry:
            continue
        try:
            yield name, entry, get_class(entry._target_)
        except Exception:
            continue


def check_logger_packages(loggers: DictConfig | None) -> None:
    """Raise UserError naming the extra to install for a chosen logger whose package is missing."""
    for name, _, logger_class in configured_loggers(loggers):
        for base, (package, extra) in NEEDS.items():
            if issubclass(logger_class, get_class(base)) and not _importable(package):
                raise UserError(
                    f"logger={name} needs the {package} package, which is not installed: "
                    f'pip install "vae-exp[{extra}]"'
                )


def check_logger_stores(loggers: DictConfig | None) -> None:
    """Refuse a chosen tracking server that does not answer, before any folder is made."""
    from vae_exp.loggers.mlflow_logger import check_tracking_server

    for name, entry, logger_class in configured_loggers(loggers):
        if issubclass(logger_class, get_class("pytorch_lightning.loggers.MLFlowLogger")):
            check_tracking_server(entry.get("tracking_uri"), f"logger.{name}.tracking_uri")


def _importable(package: str) -> bool:
    try:
        importlib.import_module(package)
    except ImportError:
        return False
    return True
