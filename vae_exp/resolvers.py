"""The `vae_exp.*` resolvers that the configs use."""

from __future__ import annotations

from omegaconf import OmegaConf

from vae_exp.paths import PROJECT_ROOT, claim_fresh_dir
from vae_exp.sweeps.naming import job_name


def register_resolvers() -> None:
    """Make `${vae_exp.project_root:}`, `${vae_exp.fresh_dir:..}`, `${vae_exp.job_name:..}` work."""
    OmegaConf.register_new_resolver("vae_exp.project_root", lambda: str(PROJECT_ROOT), replace=True)
    OmegaConf.register_new_resolver("vae_exp.job_name", job_name, replace=True)
    # Cached, so that every resolution of a run's folder name gives the one folder claimed.
    OmegaConf.register_new_resolver(
        "vae_exp.fresh_dir", claim_fresh_dir, use_cache=True, replace=True
    )
