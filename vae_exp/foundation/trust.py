"""What vae-exp builds from files it did not write itself: run folders, checkpoints, sweeps.

A received file is data. A config read from it may name classes to build
(`_target_`), at any depth: each must be a class of one of the kinds listed
in `allowed_kinds()` or one of vae-exp's own classes. Functions and other
callables are refused before anything is built, since `hydra.utils.instantiate`
would call them. Naming a class imports its module, as any Python program
imports its dependencies: only modules installed where vae-exp runs can be
named, and a module that cannot be imported is refused.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from vae_exp.foundation.errors import UserError

OWN_PACKAGE = "vae_exp"


class UntrustedTarget(UserError):
    """A config names something that vae-exp would have to call but does not build."""


@functools.cache
def allowed_kinds() -> tuple[type, ...]:
    """The base classes a received config may name (imported only when a config is checked)."""
    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.loggers import Logger
    from pytorch_lightning.plugins import CheckpointIO, Precision

    return (
        torch.nn.Module,  # networks, likelihoods, objectives, the VAE itself
        torch.optim.Optimizer,
        pl.LightningDataModule,
        pl.Callback,
        Logger,
        pl.Trainer,
        CheckpointIO,  # the Trainer's plugins
        Precision,
    )


def targets(config: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every (setting, `_target_` value) in `config`, at any depth, parents first."""
    if isinstance(config, (Mapping, DictConfig)):
        items = config.items_ex(resolve=False) if isinstance(config, DictConfig) else config.items()
        for key, value in items:
            setting = f"{where}.{key}" if where else str(key)
            if key == "_target_":
                yield (where or "_target_"), value
            else:
                yield from targets(value, setting)
    elif isinstance(config, (list, tuple, ListConfig)):
        for index, value in enumerate(config):
            yield from targets(value, f"{where}[{index}]")


def imported_class(target: Any, setting: str, received_from: Path | None = None) -> type:
    """The class that `target` names; refused unless it is a class that can be imported.

    With `received_from` (the folder a config came from), a module that lies
    inside that folder is refused before it is imported: a received folder
    cannot bring the code its config names (from the working directory, say,
    which the commands put on the import path).
    """
    if not isinstance(target, str) or "." not in target:
        raise UntrustedTarget(
            f"{setting}._target_={target!r} is not allowed: a class named module.Class"
        )
    module, _, name = target.rpartition(".")
    if received_from is not None:
        _refuse_code_from(received_from, module.split(".")[0], target, setting)
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as error:
        raise UntrustedTarget(
            f"{setting}._target_={target!r} cannot be imported: {error}"
        ) from None
    if not isinstance(found, type):
        raise UntrustedTarget(
            f"{setting}._target_={target!r} is not allowed: it is a {type(found).__name__}, "
            "not a class, and vae-exp never calls what a config names"
        )
    return found


def _refuse_code_from(folder: Path, top_module: str, target: str, setting: str) -> None:
    try:
        spec = importlib.util.find_spec(top_module)  # locates, without running, a top-level module
    except (ImportError, ValueError):
        return  # left to the import, which refuses it
    places = [spec.origin] if spec and spec.origin else []
    places += list(spec.submodule_search_locations or []) if spec else []
    root = folder.resolve()
    if any(Path(place).resolve().is_relative_to(root) for place in places if place):
        raise UntrustedTarget(
            f"{setting}._target_={target!r} is not allowed: its module is inside the received "
            f"folder {folder}, and a received folder never brings code of its own"
        )


def _kind_names(kinds: tuple[type, ...]) -> str:
    return ", ".join(f"{kind.__module__}.{kind.__qualname__}" for kind in kinds)


def check_class(
    target: Any,
    setting: str,
    kinds: tuple[type, ...] | None = None,
    received_from: Path | None = None,
) -> type:
    """The class `target` names, refused unless a subclass of `kinds` (default: allowed_kinds)."""
    found = imported_class(target, setting, received_from)
    own = kinds is None and found.__module__.split(".")[0] == OWN_PACKAGE
    kinds = kinds or allowed_kinds()
    if not (own or issubclass(found, kinds)):
        raise UntrustedTarget(
            f"{setting}._target_={target!r} is not allowed: a subclass of {_kind_names(kinds)}"
            + (" or a class of vae-exp" if kinds == allowed_kinds() else "")
        )
    return found


def check_targets(config: Any, where: str = "", received_from: Path | None = None) -> None:
    """Refuse `config` unless every `_target_` in it, at any depth, names an allowed class."""
    for setting, target in targets(config, where):
        check_class(target, setting, received_from=received_from)


def check_plain(config: DictConfig, source: str) -> None:
    """Refuse interpolations in a config that was saved resolved, e.g. a run's `config.yaml`.

    An interpolation would be evaluated on reading (`${oc.env:...}` reads the
    environment), so a saved config that holds one is not what vae-exp wrote.
    """
    for setting, value in _strings(OmegaConf.to_container(config, resolve=False)):
        if "${" in value:
            raise UserError(
                f"{source} is not a saved vae-exp config: {setting} holds an interpolation "
                f"({value!r}), and a run's saved config holds values only"
            )


def _strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")
