"""Saved model settings of an earlier layout, read in today's.

Runs and checkpoints written before the ELBO held its `kl_weight` kept it
among the VAE's own arguments; they are moved into the objective on reading,
so that every run and checkpoint a user has still loads and resumes.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

_ELBO = "vae_exp.models.objectives.ELBO"


def upgraded_model_settings(settings: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """`settings` (a VAE's arguments, changed in place) with `kl_weight` in its ELBO objective."""
    if "kl_weight" not in settings:
        return settings
    kl_weight = settings.pop("kl_weight")
    objective = settings.get("objective") or {"_target_": _ELBO}
    if objective.get("_target_") == _ELBO and "kl_weight" not in objective:
        objective = {**objective, "kl_weight": kl_weight}
    settings["objective"] = objective
    return settings
