"""Continuing an interrupted run in its own folder: `python -m vae_exp.train resume=<run folder>`.

A resumed run uses the run's saved config. Command-line overrides that would
change the experiment are refused; those that only change how or how long it
runs (more epochs, another device) are allowed.
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from vae_exp.runs.errors import UserError
from vae_exp.runs.layout import CHECKPOINT_DIR, CONFIG_FILE, LAST_CHECKPOINT

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


def resume_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint of the last completed epoch; None if no epoch was completed."""
    path = run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
    return path if path.is_file() else None
