"""Preparing a run: its effective config, its folder (claimed and locked) and its resume point.

`prepare` is the one place that checks a config and takes a folder, for the
command (through its Hydra callback, before Hydra writes anything) and for the
Python API alike; `vae_exp.pipeline.execution.execute` then trains the plan.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from omegaconf import DictConfig, OmegaConf

from vae_exp.foundation.errors import UserError
from vae_exp.pipeline.checks import check_train_config
from vae_exp.runs.claims import claim_folder, lock_run
from vae_exp.runs.containment import check_no_outside_links
from vae_exp.runs.locations import resolved
from vae_exp.runs.resume import ResumePoint, is_finished, resume_point, resumed_config


class RunFinished(UserError):
    """A resume of a run that has done every epoch asked: nothing to do, nothing changed."""


@dataclass(frozen=True)
class RunPlan:
    """A run ready to execute.

    Attributes:
        config: the effective config (a resumed run's saved one, with the allowed changes).
        folder: the run folder, locked by this process while `lock` is held.
        resume_from: the last completed epoch's checkpoint of a resumed run, if any.
    """

    config: DictConfig
    folder: Path
    resume_from: ResumePoint | None = None
    lock: IO[str] | None = field(default=None, repr=False, compare=False)

    @property
    def resuming(self) -> bool:
        return bool(self.config.get("resume"))

    def with_config(self, config: DictConfig) -> RunPlan:
        """The same folder and lock with `config` (the job's own copy of the same settings)."""
        return replace(self, config=config)

    def release(self) -> None:
        """Let the folder go (other runs may resume it); a plan is released once it has run."""
        if self.lock is not None:
            with contextlib.suppress(OSError):
                self.lock.close()


def prepare(
    cfg: DictConfig,
    resume: str | Path | None = None,
    *,
    changed: Iterable[str] = (),
    folder: str | Path | Callable[[], str | Path] | None = None,
    folder_setting: str = "paths.run_dir",
    claim: bool = True,
    lock: bool = True,
) -> RunPlan:
    """Check `cfg` and take its folder; with `resume`, continue that run folder instead.

    Args:
        cfg: the composed config.
        resume: a run folder to continue (default: `cfg.resume`).
        changed: the settings this command changes (`key` or `group`), which a resume
            applies if they are allowed to change and refuses otherwise.
        folder: the new run's folder (default: `cfg.paths.run_dir`), named as `folder_setting`
            in errors; or a function that finds it, called once the config has passed its
            checks (Hydra's run folder is made when it is first read).
        claim: claim the folder (False: it was made for this job, as a sweep's job folders).
        lock: hold the folder's lock (False in a multi-process run's extra processes).

    Raises `UserError` (and `RunFinished`) before anything is written.
    """
    resume = resume if resume is not None else cfg.get("resume")
    if resume:
        return _prepare_resume(cfg, Path(str(resume)), changed, lock)
    check_train_config(cfg)
    if callable(folder):
        folder = folder()
    folder = Path(str(folder if folder is not None else cfg.paths.run_dir))
    if claim:
        folder = claim_folder(folder, folder_setting)
    return RunPlan(cfg, folder, lock=lock_run(folder) if lock else None)


def _prepare_resume(cfg: DictConfig, resume: Path, changed: Iterable[str], lock: bool) -> RunPlan:
    folder = resolved(resume)
    if folder.is_dir():
        check_no_outside_links(folder, "resume")
    effective = resumed_config(cfg, list(changed), folder)
    check_train_config(effective)
    if lock and is_finished(folder, effective):
        raise RunFinished(
            f"resume={folder}: the run has finished all {effective.trainer.max_epochs} epochs, "
            "so nothing was changed; raise trainer.max_epochs to train it longer"
        )
    held = lock_run(folder) if lock else None
    try:
        point = resume_point(folder)
    except BaseException:
        if held is not None:
            held.close()
        raise
    return RunPlan(_continue_curves(effective, point), folder, point, held)


def _continue_curves(cfg: DictConfig, point: ResumePoint | None) -> DictConfig:
    """Have TensorBoard drop events logged after the checkpoint, so curves continue cleanly."""
    if OmegaConf.select(cfg, "logger.tensorboard") is not None:
        step = point.global_step if point else 0
        OmegaConf.update(cfg, "logger.tensorboard.purge_step", step, force_add=True)
    return cfg
