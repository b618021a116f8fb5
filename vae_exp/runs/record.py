"""What a run leaves behind besides checkpoints and event files.

`config.yaml` is the fully resolved config (Hydra's `.hydra/config.yaml` keeps
interpolations that only resolve inside a Hydra app), and `results.json` holds
the final metrics, so that scripts and later tools need no TensorBoard reader.
Both are written atomically (see `vae_exp.foundation.atomic`), and only by the first
process of a multi-process (DDP) run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pytorch_lightning.utilities import rank_zero_only

from vae_exp.foundation import atomic
from vae_exp.foundation.errors import UserError
from vae_exp.runs.layout import CLAIM_FILE, CONFIG_FILE, RESULTS_FILE

RUNNING = "running"  # the status of a run while it trains (see vae_exp.callbacks.run_record)
PRUNED = "pruned"  # the status of a trial its search's pruner stopped (sweeps.trial_pruning)


@rank_zero_only
def write_config(run_dir: str | Path, cfg: DictConfig) -> Path:
    """The resolved config, which resume, explore and evaluate read back."""
    text = OmegaConf.to_yaml(cfg, resolve=True)
    return atomic.write_text(Path(run_dir) / CONFIG_FILE, text)


class DamagedRecord(UserError):
    """A record (results.json, config.yaml, overrides.yaml) that cannot be read as what it is."""


def read_json_record(path: str | Path) -> dict[str, Any]:
    """A JSON object from `path`; a file that is not one is a `DamagedRecord` naming it."""
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DamagedRecord(f"{path} cannot be read as JSON: {error}") from None
    if not isinstance(value, dict):
        raise DamagedRecord(f"{path} is not a record: it holds a {type(value).__name__}")
    return value


def read_yaml_record(path: str | Path) -> DictConfig | ListConfig:
    """A saved config from `path`, read as plain YAML; anything else is a `DamagedRecord`.

    OmegaConf's loader builds no Python objects, so a YAML tag such as
    `!!python/object` is a refused record, not code.
    """
    path = Path(path)
    try:
        return OmegaConf.load(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, OmegaConfBaseException) as error:
        reason = " ".join(str(error).split())
        raise DamagedRecord(f"{path} cannot be read as a saved config: {reason}") from None


def read_results(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's `results.json`, or None before the run has written one."""
    path = Path(run_dir) / RESULTS_FILE
    return read_json_record(path) if path.is_file() else None


@rank_zero_only
def write_results(run_dir: str | Path, results: dict[str, Any]) -> dict[str, Any]:
    """Update `results.json` with `results`, never losing what it held; return the record.

    Fields given replace those recorded, except that metrics are merged: an
    interruption or failure that logged fewer metrics keeps the earlier values.
    Written by the first process only: DDP's other processes share its folder.
    """
    record = read_results(run_dir) or {}
    metrics = {**record.get("metrics", {}), **results.get("metrics", {})}
    record = {**record, **results, "metrics": metrics}
    if record.get("status") != "failed":
        record.pop("error", None)
    atomic.write_text(Path(run_dir) / RESULTS_FILE, json.dumps(record, indent=2) + "\n")
    return record


def discard_if_unused(run_dir: str | Path) -> bool:
    """Remove a run folder that holds nothing but Hydra's own files and its claim.

    A run refused before training leaves only its config and log; removing
    them keeps typos from cluttering `outputs/`. Anything else stays.
    """
    folder = Path(run_dir)
    hydra_only = all(_is_hydra_output(p) for p in folder.iterdir())
    if hydra_only:
        shutil.rmtree(folder)
    return hydra_only


def _is_hydra_output(path: Path) -> bool:
    if path.suffix == ".log" or path.name == CLAIM_FILE:
        return True
    if path.name != ".hydra":
        return False
    # An empty .hydra/, or one with only Hydra's three files of this command.
    return {p.name for p in path.iterdir()} <= {"config.yaml", "hydra.yaml", "overrides.yaml"}
