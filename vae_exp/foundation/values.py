"""Checks of single setting values, with the one error format every part of vae-exp uses.

Each raises `ConfigError(setting, value, allowed)`, whose message names the
setting, the value and what is allowed. Classes built from configs (callbacks,
say) check their own arguments with these, naming the argument; the builder
prefixes the config path, so the user reads `callbacks.latent_grid.steps=0`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

from omegaconf import ListConfig

from vae_exp.foundation.errors import ConfigError


def plain(value: object) -> object:
    """A config list as a plain list (for messages); other values unchanged."""
    return list(value) if isinstance(value, (ListConfig, tuple)) else value


def is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def require_int(setting: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """`value` as an int in [minimum, maximum]."""
    if not is_int(value) or value < minimum or (maximum is not None and value > maximum):
        allowed = (
            f"an integer >= {minimum}" if maximum is None else f"an integer in {minimum}..{maximum}"
        )
        raise ConfigError(setting, plain(value), allowed)
    return int(value)


def require_number(
    setting: str,
    value: object,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
) -> float:
    """`value` as a finite float, above `minimum` (or equal unless `strict`), at most `maximum`."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if ok and maximum is not None:
        ok = value <= maximum
    if not ok:
        bounds = []
        if minimum is not None:
            bounds.append(f"{'>' if strict else '>='} {minimum:g}")
        if maximum is not None:
            bounds.append(f"<= {maximum:g}")
        raise ConfigError(
            setting, plain(value), " ".join(["a finite number", " and ".join(bounds)]).strip()
        )
    return float(value)


def require_choice(setting: str, value: object, choices: Sequence[object]) -> object:
    if value not in choices:
        raise ConfigError(setting, plain(value), f"one of {', '.join(map(str, choices))}")
    return value


def require_dims(setting: str, value: object, count: int | None = None) -> list[int]:
    """A list of distinct latent dimension indices (>= 0), `count` of them if given."""
    items = list(value) if isinstance(value, (list, tuple, ListConfig)) else None
    allowed = "a list of distinct latent dimensions (integers >= 0)"
    if count is not None:
        allowed = f"{count} different latent dimensions (integers >= 0), e.g. [0, 1]"
    if (
        items is None
        or not items
        or not all(is_int(d) and d >= 0 for d in items)
        or len(set(items)) != len(items)
        or (count is not None and len(items) != count)
    ):
        raise ConfigError(setting, plain(value), allowed)
    return [int(d) for d in items]


def require_within(setting: str, dims: Sequence[int], latent_dim: int) -> None:
    """Refuse dimensions a latent space of `latent_dim` dimensions does not have."""
    if any(d >= latent_dim for d in dims):
        allowed = f"dimensions 0..{latent_dim - 1}: the latent space has {latent_dim}"
        raise ConfigError(setting, list(dims), allowed)
