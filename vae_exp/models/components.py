"""Building a VAE's parts (encoder, decoder, optimizer) from their configs.

A part is given as a config with a `_target_`, so that a checkpoint stores it
as plain data and the tools can rebuild the model from the checkpoint alone.
Only classes of the expected kind are built: a checkpoint cannot make
vae-exp call an arbitrary function.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]


def plain(config: Any) -> Any:
    """A config as plain dicts and lists (what a checkpoint may hold); other values unchanged."""
    if OmegaConf.is_config(config):
        return OmegaConf.to_container(config, resolve=True)
    return dict(config) if isinstance(config, Mapping) else config


def _checked_class(config: Mapping[str, Any], setting: str, base: type) -> type:
    target = str(config.get("_target_"))
    module, _, name = target.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"{setting}._target_={target!r} cannot be imported: {error}") from None
    if not (isinstance(found, type) and issubclass(found, base)):
        raise ValueError(
            f"{setting}._target_={target!r} is not allowed: a subclass of "
            f"{base.__module__}.{base.__qualname__}"
        )
    return found


def build_module(
    config: Mapping[str, Any], setting: str, base: type[torch.nn.Module] = torch.nn.Module
) -> Any:
    """The module that `config` names, e.g. an encoder; refused unless a subclass of `base`."""
    _checked_class(config, setting, base)
    return instantiate(dict(config), _convert_="all")


def optimizer_factory(config: Mapping[str, Any] | OptimizerFactory) -> OptimizerFactory:
    """A function of the parameters that builds the optimizer `config` names."""
    if callable(config):
        return config
    _checked_class(config, "optimizer", torch.optim.Optimizer)
    options = {key: value for key, value in config.items() if key not in ("_partial_", "_convert_")}
    return instantiate(options, _partial_=True, _convert_="all")
