"""The `vae_exp.*` resolvers that the configs use."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from vae_exp.paths import PROJECT_ROOT, claim_fresh_dir
from vae_exp.sweeps.naming import job_name


def run_dir(resume: str | None, fresh: str) -> str:
    """The folder of a resumed run, or a freshly claimed one."""
    return str(Path(resume).expanduser().resolve()) if resume else claim_fresh_dir(fresh)


def hydra_subdir(resume: str | None, stamp: str) -> str:
    """Where Hydra saves this command's config: `.hydra`, or a new folder inside it on resume."""
    if not resume:
        return ".hydra"
    return claim_fresh_dir(str(Path(run_dir(resume, "")) / ".hydra" / f"resume-{stamp}"))


def register_resolvers() -> None:
    """Make the `vae_exp.*` resolvers of the configs available (idempotent)."""
    OmegaConf.register_new_resolver("vae_exp.project_root", lambda: str(PROJECT_ROOT), replace=True)
    OmegaConf.register_new_resolver("vae_exp.job_name", job_name, replace=True)
    # Cached, so that every resolution of a folder name gives the one folder claimed.
    for name, resolver in (
        ("vae_exp.fresh_dir", claim_fresh_dir),
        ("vae_exp.run_dir", run_dir),
        ("vae_exp.hydra_subdir", hydra_subdir),
    ):
        OmegaConf.register_new_resolver(name, resolver, use_cache=True, replace=True)
