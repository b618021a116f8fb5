"""Builds the objects of config groups that hold several named entries."""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a group such as `callbacks` or `logger`.

    Entries without `_target_` (or set to null) are skipped, so that a single
    callback can be switched off with `~callbacks.NAME` or `callbacks.NAME=null`.
    """
    if not group:
        return []
    return [
        instantiate(entry)
        for entry in group.values()
        if isinstance(entry, DictConfig) and "_target_" in entry
    ]
