"""Continuing an interrupted run in its own folder: `vae-exp-train resume=<run folder>`.

A resumed run uses the run's saved config. Command-line overrides that would
change the experiment are refused; those that only change how or how long it
runs (more epochs, another device) are allowed. A run folder may have been
moved or copied since: paths the run saved inside its old location are
re-pointed at the folder being resumed, so that nothing is written elsewhere.

The saved config is a received file (`vae_exp.foundation.trust`): it is refused
unless it is plain data whose every `_target_` names an allowed class, and
every location in it is resolved and kept inside the folder
(`vae_exp.runs.containment`).
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from vae_exp.foundation import atomic
from vae_exp.foundation.errors import UserError
from vae_exp.foundation.trust import UntrustedTarget, check_plain, check_targets
from vae_exp.runs.checkpoints import load_checkpoint
from vae_exp.runs.containment import contained_config, contained_paths
from vae_exp.runs.layout import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    LAST_CHECKPOINT,
    TRIAL_PRUNING_CALLBACK,
)
from vae_exp.runs.record import DamagedRecord, read_results, read_yaml_record
from vae_exp.runs.upgrades import upgraded_model_settings

RESUMABLE_SETTINGS = (
    "trainer.max_epochs",
    "trainer.enable_progress_bar",
    "trainer.accelerator",
    "trainer.devices",
    "data.num_workers",
    "data.data_dir",
    "data.cache_dir",
)
# Where this user's image cache is: a received config never names the place it writes to.
CACHE_SETTING, CACHE_FOLDER = "data.cache_dir", "cache"


def changed_settings(task_overrides: list[str]) -> list[str]:
    """The settings (`key` or `group`) that command-line overrides change."""
    return [o.key_or_group for o in OverridesParser.create().parse_overrides(task_overrides)]


def resumed_config(cfg: DictConfig, changed: list[str], run_dir: Path) -> DictConfig:
    """The run's saved config with the allowed changes of this command (`cfg`'s values) applied.

    `changed` names the settings the command changes (`changed_settings`); any
    other than `RESUMABLE_SETTINGS` whose value differs from the run's is refused.
    """
    saved_path = run_dir / CONFIG_FILE
    if not saved_path.is_file():
        raise UserError(f"resume={run_dir} is not a vae-exp run folder: it has no {CONFIG_FILE}")
    saved = _received_config(saved_path)
    old_dir = str(OmegaConf.select(saved, "paths.run_dir", default="") or "")
    plain = OmegaConf.to_container(saved)
    if old_dir:
        plain = relocated(plain, old_dir, str(run_dir))
    # A search's trial reported to its study's database; resumed, it reports nowhere, so that
    # a run folder received from someone else never names a server to connect to.
    if isinstance(plain.get("callbacks"), dict):
        plain["callbacks"].pop(TRIAL_PRUNING_CALLBACK, None)
    own = copy.deepcopy(cfg)  # what this command would use, with the run folder as its own
    OmegaConf.update(own, "paths.run_dir", str(run_dir), force_add=True)
    plain = contained_config(plain, run_dir, lambda key: _own_value(own, key), str(saved_path))
    saved = OmegaConf.create(plain)
    refused = []
    for key in changed:
        if key == "resume":
            continue
        current = OmegaConf.select(cfg, key)
        current = (
            OmegaConf.to_container(current, resolve=True)
            if OmegaConf.is_config(current)
            else current
        )
        if key in RESUMABLE_SETTINGS:
            OmegaConf.update(saved, key, current, force_add=True)
            continue
        before = OmegaConf.select(saved, key)
        before = OmegaConf.to_container(before) if OmegaConf.is_config(before) else before
        if current != before:
            refused.append(f"{key} (run: {before!r}, asked: {current!r})")
    if refused:
        raise UserError(
            f"resume={run_dir} continues that run with its own settings; these overrides would "
            f"change the experiment: {'; '.join(refused)}. Allowed: {', '.join(RESUMABLE_SETTINGS)}"
        )
    OmegaConf.update(saved, "resume", str(run_dir), force_add=True)
    return saved


def _received_config(path: Path) -> DictConfig:
    """The saved config, refused unless it is plain data naming only allowed classes."""
    saved = read_yaml_record(path)
    if not isinstance(saved, DictConfig) or "paths" not in saved or "model" not in saved:
        raise DamagedRecord(f"{path} is not a saved vae-exp config: it has no paths and model")
    check_plain(saved, str(path))
    try:
        check_targets(saved, received_from=path.parent)
    except UntrustedTarget as error:
        raise UntrustedTarget(f"{path}: {error}") from None
    if isinstance(saved.model, DictConfig) and "kl_weight" in saved.model:
        model = OmegaConf.to_container(saved.model)
        saved.model = OmegaConf.create(dict(upgraded_model_settings(model)))
    return saved


def _own_value(cfg: DictConfig, key: str) -> Any:
    """What the resuming command itself sets `key` to (None where it has no such setting).

    The image cache is the resuming user's own, in their data folder, whatever
    data set the command composed.
    """
    if key == CACHE_SETTING and OmegaConf.select(cfg, CACHE_SETTING) is None:
        data_dir = _own_value(cfg, "paths.data_dir")
        return str(Path(data_dir) / CACHE_FOLDER) if data_dir else None
    try:
        value = OmegaConf.select(cfg, key, throw_on_missing=False)
    except Exception:  # an interpolation that only resolves elsewhere: the command has no value
        return None
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def relocated(value: Any, old_dir: str, new_dir: str) -> Any:
    """`value` (plain data) with every path inside `old_dir` moved into `new_dir`."""
    if isinstance(value, str):
        if value == old_dir or value.startswith(old_dir.rstrip("/") + "/"):
            return new_dir + value[len(old_dir) :]
        return value
    if isinstance(value, dict):
        return {
            relocated(k, old_dir, new_dir): relocated(v, old_dir, new_dir) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(relocated(v, old_dir, new_dir) for v in value)
    return value


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run starts: its last checkpoint, the step and the epochs done."""

    checkpoint: Path
    global_step: int
    epochs_done: int


def resume_point(run_dir: Path) -> ResumePoint | None:
    """The last completed epoch's checkpoint; None if the run completed no epoch.

    The checkpoint's callback states name files by absolute path; if the run was
    moved or copied, they are re-pointed at `run_dir` first, and any that still
    lie outside it (`..`, links) are dropped, so that Lightning can only remove
    the run's own checkpoints (the checkpoint is rewritten atomically).
    """
    path = run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
    if not path.is_file():
        return None
    contents = load_checkpoint(path)
    point = ResumePoint(path, int(contents["global_step"]), int(contents["epoch"]) + 1)
    here = str(run_dir / CHECKPOINT_DIR)
    before = contents.get("callbacks", {})
    callbacks = before
    for old in _checkpoint_dirs(before) - {here}:
        callbacks = relocated(callbacks, old, here)
    callbacks = contained_paths(callbacks, run_dir)
    if _strings(callbacks) != _strings(before):  # states hold tensors: compare their paths
        contents["callbacks"] = callbacks
        buffer = io.BytesIO()
        torch.save(contents, buffer)
        atomic.write_bytes(path, buffer.getbuffer())
    return point


def _strings(value: Any) -> list[str]:
    """Every string in `value` (plain data), keys included, in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return []


def _checkpoint_dirs(callback_states: dict[str, Any]) -> set[str]:
    return {
        str(state["dirpath"])
        for state in callback_states.values()
        if isinstance(state, dict) and state.get("dirpath")
    }


def is_finished(run_dir: Path, cfg: DictConfig) -> bool:
    """Whether the run completed every epoch that `cfg` asks for."""
    results = read_results(run_dir) or {}
    epochs = results.get("epochs") or 0
    return results.get("status") == "completed" and epochs >= (cfg.trainer.max_epochs or 0)
