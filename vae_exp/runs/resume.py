"""Continuing an interrupted run in its own folder: `vae-exp-train resume=<run folder>`.

A resumed run uses the run's saved config. Command-line overrides that would
change the experiment are refused; those that only change how or how long it
runs (more epochs, another device) are allowed. A run folder may have been
moved or copied since: paths the run saved inside its old location are
re-pointed at the folder being resumed, so that nothing is written elsewhere.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from vae_exp.runs import atomic
from vae_exp.runs.checkpoints import load_checkpoint
from vae_exp.runs.errors import UserError
from vae_exp.runs.layout import CHECKPOINT_DIR, CONFIG_FILE, LAST_CHECKPOINT
from vae_exp.runs.record import read_results

RESUMABLE_SETTINGS = (
    "trainer.max_epochs",
    "trainer.enable_progress_bar",
    "trainer.accelerator",
    "trainer.devices",
    "data.num_workers",
    "data.data_dir",
)


def resumed_config(cfg: DictConfig, task_overrides: list[str], run_dir: Path) -> DictConfig:
    """The run's saved config with the allowed overrides of this command applied."""
    saved_path = run_dir / CONFIG_FILE
    if not saved_path.is_file():
        raise UserError(f"resume={run_dir} is not a vae-exp run folder: it has no {CONFIG_FILE}")
    saved = OmegaConf.load(saved_path)
    old_dir = saved.paths.run_dir
    saved = OmegaConf.create(relocated(OmegaConf.to_container(saved), old_dir, str(run_dir)))
    refused = []
    for override in OverridesParser.create().parse_overrides(task_overrides):
        key = override.key_or_group
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
    moved or copied, they are re-pointed at `run_dir` first (written atomically).
    """
    path = run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
    if not path.is_file():
        return None
    contents = load_checkpoint(path)
    point = ResumePoint(path, int(contents["global_step"]), int(contents["epoch"]) + 1)
    here = str(run_dir / CHECKPOINT_DIR)
    before = _checkpoint_dirs(contents.get("callbacks", {}))
    moved = [old for old in before if old != here]
    if moved:
        callbacks = contents["callbacks"]
        for old in moved:
            callbacks = relocated(callbacks, old, here)
        contents["callbacks"] = callbacks
        buffer = io.BytesIO()
        torch.save(contents, buffer)
        atomic.write_bytes(path, buffer.getbuffer())
    return point


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
