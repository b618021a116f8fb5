"""Building a run's parts from their configs, with one-line errors that name the setting."""

from __future__ import annotations

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from vae_exp.foundation.errors import ConfigError, UserError


def build(config: DictConfig, setting: str, **kwargs: Any) -> Any:
    """Instantiate `config`; a bad argument becomes a one-line error naming `setting.argument`."""
    try:
        return instantiate(config, **kwargs)
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, ConfigError):
            raise cause.within(setting) from None
        if isinstance(cause, UserError):
            raise cause from None
        deeper = _user_error_within(cause)
        if deeper is not None:  # a part's own part refused (conv64 and the image size, say)
            raise deeper from None
        reason = str(cause or error).strip().splitlines()[-1]
        raise UserError(f"{setting} cannot be built: {reason}") from None


def _user_error_within(error: BaseException | None) -> UserError | None:
    """The UserError a chain of nested instantiation errors started from, if one did."""
    while error is not None:
        if isinstance(error, UserError):
            return error
        error = error.__cause__
    return None


def instantiate_all(group: DictConfig | None, setting: str = "callbacks") -> dict[str, Any]:
    """Instantiate every entry of a group such as `callbacks` or `logger`, by name.

    Entries without `_target_` (or set to null) are skipped, so that a single
    callback can be switched off with `~callbacks.NAME` or `callbacks.NAME=null`.
    """
    if not group:
        return {}
    return {
        name: build(entry, f"{setting}.{name}")
        for name, entry in group.items()
        if isinstance(entry, DictConfig) and "_target_" in entry
    }


def check_callbacks(
    callbacks: dict[str, Any], latent_dim: int, val_images: int, image_shape: tuple[int, ...]
) -> None:
    """Let each callback refuse settings this run cannot meet, before training starts."""
    for name, callback in callbacks.items():
        if hasattr(callback, "check_for"):
            try:
                callback.check_for(latent_dim, val_images, image_shape)
            except ConfigError as error:
                raise error.within(f"callbacks.{name}") from None
