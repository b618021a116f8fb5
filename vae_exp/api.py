"""The Python API, for notebooks and scripts: compose a config, fit it, load and evaluate a run.

    >>> import vae_exp
    >>> cfg = vae_exp.compose(["kl_weight=1e-3", "trainer.max_epochs=2"])
    >>> record = vae_exp.fit(cfg)                  # trains; the run's results.json as a dict
    >>> run = vae_exp.load_run(record["run_dir"])  # run.model, run.config, run.folder
    >>> vae_exp.fit(vae_exp.compose(["trainer.max_epochs=4"]), resume=record["run_dir"])
    >>> figures = vae_exp.evaluate(run, num_samples=500)  # what vae-exp-evaluate computes
    >>> folder = vae_exp.export(run, format="onnx")  # encoder.onnx, decoder.onnx, export.json

Each call sets up what it needs (the config resolvers, a log file during `fit`)
and leaves nothing else behind.
"""

from __future__ import annotations

__all__ = ["Run", "compose", "evaluate", "export", "fit", "load_run"]

import contextlib
import copy
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hydra import compose as hydra_compose
from hydra import initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import MISSING, DictConfig, OmegaConf

from vae_exp.evaluation import evaluate
from vae_exp.exporting import export
from vae_exp.foundation.errors import UserError
from vae_exp.pipeline.execution import execute
from vae_exp.pipeline.plan import prepare
from vae_exp.pipeline.resolvers import CONFIG_PACKAGE, register_resolvers
from vae_exp.runs.layout import LOG_FILE
from vae_exp.runs.loaded_run import Run, load_run
from vae_exp.runs.locations import absolute, new_run_dir
from vae_exp.runs.record import discard_if_unused

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


def fit(cfg: DictConfig | None = None, resume: str | Path | None = None) -> dict[str, Any]:
    """Train the run that `cfg` (from `compose`) describes, or continue `resume`; return its record.

    The record is what `results.json` holds (status, epochs, wall time, final
    metrics, best checkpoint, the process settings applied) plus `run_dir`, the
    run's folder. With `resume` (a run folder) the run continues from its last
    completed epoch with its own saved settings, as `vae-exp-train resume=`:
    of what `cfg` changes from the defaults, only the settings a resume may
    change (`trainer.max_epochs` and the like) are applied, and any other
    change is refused. Raises `vae_exp.UserError` before training for a
    setting that cannot work.
    """
    register_resolvers()
    if resume is not None:
        cfg = cfg if cfg is not None else compose()
        plan = prepare(cfg, resume=absolute(resume), changed=_changed_from_defaults(cfg))
    else:
        if cfg is None:
            raise UserError("fit needs a config (vae_exp.compose(...)) or resume=<run folder>")
        if cfg.get("resume"):
            raise UserError(f"resume is an argument of fit: vae_exp.fit(resume={cfg.resume!r})")
        cfg = copy.deepcopy(cfg)
        plan = prepare(cfg, folder=lambda: _run_dir(cfg))
    try:
        with _logging_to(plan.folder / LOG_FILE):
            record = execute(plan)
    except UserError:
        if not plan.resuming:
            discard_if_unused(plan.folder)
        raise
    finally:
        plan.release()
    return {**record, "run_dir": str(plan.folder)}


def _run_dir(cfg: DictConfig) -> str:
    """The run's folder: the one `cfg` names, else a fresh one (made once the checks pass)."""
    if OmegaConf.is_missing(cfg.paths, "run_dir"):
        cfg.paths.run_dir = new_run_dir(cfg.paths.output_root)
    return cfg.paths.run_dir


def _changed_from_defaults(cfg: DictConfig) -> list[str]:
    """The settings `cfg` changes from `compose()`'s, as the command line names them."""
    defaults = _leaves(compose())
    return sorted(
        key
        for key, value in _leaves(cfg).items()
        if defaults.get(key, MISSING) != value and key not in ("paths.run_dir", "resume")
    )


def _leaves(cfg: DictConfig) -> dict[str, Any]:
    """Every setting of `cfg` by its dotted key, unresolved (interpolations as written)."""
    flat: dict[str, Any] = {}

    def visit(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                visit(value, f"{prefix}.{key}" if prefix else str(key))
        else:
            flat[prefix] = node

    visit(OmegaConf.to_container(cfg, resolve=False), "")
    return flat
