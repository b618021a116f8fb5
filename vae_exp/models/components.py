"""Building a VAE's parts (encoder, decoder, optimizer) from their configs.

A part is given as a config with a `_target_`, so that a checkpoint stores it
as plain data and the tools can rebuild the model from the checkpoint alone.
Only classes of the expected kind are built, and every `_target_` nested in
their arguments is checked too (`vae_exp.foundation.trust`): a checkpoint cannot
make vae-exp call an arbitrary function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from vae_exp.foundation.trust import check_class, check_targets

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]


def plain(config: Any) -> Any:
    """A config as plain dicts and lists (what a checkpoint may hold); other values unchanged."""
    if OmegaConf.is_config(config):
        return OmegaConf.to_container(config, resolve=True)
    return dict(config) if isinstance(config, Mapping) else config


def _checked(config: Mapping[str, Any], setting: str, base: type) -> None:
    """The part must be a `base`, and anything nested in its arguments an allowed kind."""
    check_class(config.get("_target_"), setting, (base,))
    for key, value in config.items():
        if key != "_target_":
            check_targets(value, f"{setting}.{key}")


def build_module(
    config: Mapping[str, Any], setting: str, base: type[torch.nn.Module] = torch.nn.Module
) -> Any:
    """The module that `config` names, e.g. an encoder; refused unless a subclass of `base`."""
    _checked(config, setting, base)
    return instantiate(dict(config), _convert_="all")


def optimizer_factory(config: Mapping[str, Any] | OptimizerFactory) -> OptimizerFactory:
    """A function of the parameters that builds the optimizer `config` names."""
    if callable(config):
        return config
    _checked(config, "optimizer", torch.optim.Optimizer)
    options = {key: value for key, value in config.items() if key not in ("_partial_", "_convert_")}
    return instantiate(options, _partial_=True, _convert_="all")
