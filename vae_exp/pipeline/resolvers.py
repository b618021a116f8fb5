"""The `vae_exp.*` resolvers that the configs use.

Registering them is a process-wide change, so nothing registers them at
import: the commands and the Python API call `register_resolvers()` when
they start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from omegaconf import OmegaConf

from vae_exp.runs import layout
from vae_exp.runs.locations import (
    absolute,
    claim_fresh_dir,
    default_data_dir,
    new_run_dir,
    new_sweep_dir,
    resolved,
    stamp,
)
from vae_exp.sweeps.naming import job_name

CONFIG_PACKAGE = "vae_exp.conf"


def run_dir(resume: str | None, output_root: str) -> str:
    """The folder of a resumed run, or a freshly claimed one under `output_root`."""
    return str(resolved(resume)) if resume else new_run_dir(output_root)


def hydra_subdir(resume: str | None) -> str:
    """Where Hydra saves this command's config: `.hydra`, or a new folder inside it on resume."""
    if not resume:
        return ".hydra"
    return claim_fresh_dir(resolved(resume) / ".hydra" / f"resume-{stamp()}")


def sweep_dir(output_root: str, storage: str | None = None, study_name: str | None = None) -> str:
    """A sweep's folder: a fresh `<output_root>/multirun/<date>_<time>`, or for a search whose
    study is stored, `<output_root>/multirun/<study_name>`, which all its workers share (the
    search joins it when it starts, see `ClaimRunFolder`)."""
    if storage and study_name:
        return str(Path(output_root) / layout.SWEEPS_DIR / str(study_name))
    return new_sweep_dir(output_root)


def group_choices(group: str, *left_out: str) -> str:
    """The options of a packaged config group but `left_out`, for `--help`: `adam, adamw, sgd`."""
    folder = resources.files(CONFIG_PACKAGE).joinpath(*group.split("/"))
    names = sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))
    return ", ".join(name for name in names if name not in left_out)


def layout_name(name: str) -> str:
    """A name of the run-folder layout, e.g. `${vae_exp.layout:CHECKPOINT_DIR}`."""
    return getattr(layout, name)


def folder_name(path: str) -> str:
    """A run's name in loggers that name runs: its folder's (a sweep job's `3_kl_weight=...`)."""
    return Path(path).name


def elbo_kl_weight(latent_dim: int, image_shape: Sequence[int]) -> float:
    """The kl_weight that makes the reference loss the negative ELBO per pixel (beta = 1).

    The loss is recon (a mean over P pixels) + kl_weight x (2 / D) x KL, so
    kl_weight = D / (2 P) gives (sum over pixels + KL) / P.
    """
    return latent_dim / (2 * math.prod(image_shape))


def native_precision(accelerator: str) -> str:
    """See `vae_exp.pipeline.precision` (imported when a config asks, since it imports PyTorch)."""
    from vae_exp.pipeline.precision import native_precision as of_the_device

    return of_the_device(accelerator)


def register_resolvers() -> None:
    """Make the `vae_exp.*` resolvers of the configs available (idempotent)."""
    for name, resolver in (
        ("vae_exp.absolute", absolute),
        ("vae_exp.default_data_dir", default_data_dir),
        ("vae_exp.job_name", job_name),
        ("vae_exp.choices", group_choices),
        ("vae_exp.layout", layout_name),
        ("vae_exp.folder_name", folder_name),
        ("vae_exp.elbo_kl_weight", elbo_kl_weight),
        ("vae_exp.native_precision", native_precision),
    ):
        OmegaConf.register_new_resolver(name, resolver, replace=True)
    # Cached, so that every resolution of a folder name gives the one folder claimed.
    for name, resolver in (
        ("vae_exp.fresh_dir", claim_fresh_dir),
        ("vae_exp.run_dir", run_dir),
        ("vae_exp.sweep_dir", sweep_dir),
        ("vae_exp.hydra_subdir", hydra_subdir),
    ):
        OmegaConf.register_new_resolver(name, resolver, use_cache=True, replace=True)
