"""Checks a composed training config before anything is built.

Lightning and PyTorch would reject most bad values too, but late (after data
loading) and with messages about their own internals. These checks name the
public setting, the value and what is allowed.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from omegaconf import DictConfig, ListConfig

from vae_exp.data.mnist_sources import SOURCES
from vae_exp.models.reparameterization import REPARAMETERIZATIONS
from vae_exp.runs.errors import ConfigError


def check_train_config(cfg: DictConfig) -> None:
    """Raise ConfigError for the first setting of `cfg` that cannot work."""
    _check_digits(cfg.digits)
    _check_int("latent_dim", cfg.latent_dim, minimum=1)
    _check_finite_real("kl_weight", cfg.kl_weight, minimum=0.0)
    _check_int("seed", cfg.seed, minimum=0)
    _check_int("data.batch_size", cfg.data.batch_size, minimum=1)
    _check_int("data.num_workers", cfg.data.num_workers, minimum=0)
    _check_choice("data.source", cfg.data.source, SOURCES)
    _check_finite_real("data.val_split", cfg.data.val_split, minimum=0.0)
    if cfg.data.val_split >= 1:
        raise ConfigError("data.val_split", cfg.data.val_split, "a share in [0, 1)")
    _check_choice("model.reparameterization", cfg.model.reparameterization, REPARAMETERIZATIONS)
    _check_finite_real("optimizer.lr", cfg.optimizer.lr, minimum=0.0, strict=True)


def check_optimized_metric(name: str | None, logged: set[str]) -> None:
    """Refuse a metric name that runs do not log: a sweeper could not optimise it."""
    if name is not None and name not in logged:
        raise ConfigError("optimized_metric", name, f"a logged metric: {', '.join(sorted(logged))}")


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _check_digits(digits: object) -> None:
    allowed = "a non-empty list of distinct digits in 0..9, e.g. digits=[1,8]"
    if not isinstance(digits, (ListConfig, list, tuple)) or len(digits) == 0:
        raise ConfigError("digits", _plain(digits), allowed)
    values = list(digits)
    if not all(_is_int(d) and 0 <= d <= 9 for d in values) or len(set(values)) != len(values):
        raise ConfigError("digits", values, allowed)


def _check_int(name: str, value: object, minimum: int) -> None:
    if not _is_int(value) or value < minimum:
        raise ConfigError(name, value, f"an integer >= {minimum}")


def _check_finite_real(name: str, value: object, minimum: float, strict: bool = False) -> None:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > minimum if strict else value >= minimum)
    if not ok:
        relation = ">" if strict else ">="
        raise ConfigError(name, value, f"a finite number {relation} {minimum:g}")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(name, value, f"one of {', '.join(choices)}")


def _plain(value: object) -> object:
    return list(value) if isinstance(value, ListConfig) else value
