"""`vae-exp-explore`'s settings as a DictConfig, for calling `vae_exp.exploration.explore`."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

import vae_exp.conf

CONFIG_DIR = Path(vae_exp.conf.__file__).parent


def explore_settings(run_dir: Path, **chosen) -> DictConfig:
    settings = OmegaConf.load(CONFIG_DIR / "explore.yaml")
    for key in ("defaults", "hydra"):
        settings.pop(key)
    settings.run = str(run_dir)
    for key, value in chosen.items():
        OmegaConf.update(settings, key, value)
    return settings
