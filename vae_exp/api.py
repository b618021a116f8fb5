"""The Python API, for notebooks and scripts: compose a config, fit it, load a finished run.

    >>> import vae_exp
    >>> cfg = vae_exp.compose(["kl_weight=1e-3", "trainer.max_epochs=2"])
    >>> record = vae_exp.fit(cfg)                  # trains; the run's results.json as a dict
    >>> run = vae_exp.load_run(record["run_dir"])  # run.model, run.config, run.folder

Each call sets up what it needs (the config resolvers, a log file during `fit`)
and leaves nothing else behind.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra import compose as hydra_compose
from hydra import initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import MISSING, DictConfig, OmegaConf

from vae_exp.foundation.errors import UserError
from vae_exp.models import VAE
from vae_exp.pipeline.checks import check_train_config
from vae_exp.pipeline.resolvers import CONFIG_PACKAGE, register_resolvers
from vae_exp.pipeline.training import train
from vae_exp.runs.checkpoints import load_vae, resolve_run, run_config
from vae_exp.runs.claims import claim_folder, lock_run
from vae_exp.runs.layout import LOG_FILE
from vae_exp.runs.locations import absolute, new_run_dir
from vae_exp.runs.record import discard_if_unused, read_results

_LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # as the command's train.log


def compose(overrides: Sequence[str] = (), config_dir: str | Path | None = None) -> DictConfig:
    """The training config that `vae-exp-train OVERRIDES` would run.

    Args:
        overrides: settings as on the command line, e.g. `["latent_dim=8", "optimizer=adam"]`.
        config_dir: a folder of your own configs, as `--config-dir` (e.g. holding
            `experiment/mine.yaml`, then `experiment=mine`).

    `paths.run_dir` is left unset (`???`): `fit` claims a fresh folder under
    `paths.output_root`, unless you set it to a folder of your choice.
    """
    register_resolvers()
    overrides = list(overrides)
    if config_dir is not None:
        overrides.append(f"hydra.searchpath=[file://{absolute(config_dir)}]")
    global_hydra = GlobalHydra.instance()
    outer = global_hydra.hydra if global_hydra.is_initialized() else None
    global_hydra.clear()  # compose inside a running Hydra app (or another initialize) too
    try:
        with initialize_config_module(config_module=CONFIG_PACKAGE, version_base="1.3"):
            cfg = hydra_compose(config_name="train", overrides=overrides)
    finally:
        GlobalHydra.instance().hydra = outer
    if not any(o.startswith("paths.run_dir=") for o in overrides):
        # The command's run folder comes from Hydra, which a composed config runs without.
        OmegaConf.update(cfg, "paths.run_dir", MISSING)
    return cfg


@contextlib.contextmanager
def _logging_to(path: Path) -> Iterator[None]:
    """Log INFO and above into `path` while training, as the command does, then undo it."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    handler.setLevel(logging.INFO)
    root, ours = logging.getLogger(), logging.getLogger("vae_exp")
    level = ours.level
    root.addHandler(handler)
    ours.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        ours.setLevel(level)
        handler.close()


def fit(cfg: DictConfig) -> dict[str, Any]:
    """Train the run that `cfg` (from `compose`) describes; return its record.

    The record is what `results.json` holds (status, epochs, wall time, final
    metrics, best checkpoint) plus `run_dir`, the run's folder. Raises
    `vae_exp.foundation.errors.UserError` before training for a setting that cannot work.
    """
    register_resolvers()
    if cfg.get("resume"):
        raise UserError("resume= is a command-line setting: run vae-exp-train resume=<run folder>")
    check_train_config(cfg)  # before any folder is made
    cfg = copy.deepcopy(cfg)
    if OmegaConf.is_missing(cfg.paths, "run_dir"):
        cfg.paths.run_dir = new_run_dir(cfg.paths.output_root)
    run_dir = claim_folder(cfg.paths.run_dir, "paths.run_dir")
    lock = lock_run(run_dir)
    try:
        with _logging_to(run_dir / LOG_FILE):
            record = train(cfg)
    except UserError:
        discard_if_unused(run_dir)
        raise
    finally:
        lock.close()
    return {**record, "run_dir": str(run_dir)}


@dataclass(frozen=True)
class Run:
    """A trained run, read back from its folder.

    Attributes:
        folder: the run folder.
        checkpoint: the checkpoint `model` was loaded from (the best one by default).
        model: the VAE, in eval mode on the CPU.
        config: the run's resolved config (`config.yaml`), or None if it has none.
        results: its `results.json`, or None if it has none.
    """

    folder: Path
    checkpoint: Path
    model: VAE
    config: DictConfig | None
    results: dict[str, Any] | None


def load_run(path: str | Path) -> Run:
    """The run of a run folder (its best checkpoint) or of one of its checkpoint files."""
    folder, checkpoint, contents = resolve_run(path)
    return Run(
        folder=folder,
        checkpoint=checkpoint,
        model=load_vae(checkpoint, contents),
        config=run_config(folder),
        results=read_results(folder),
    )
