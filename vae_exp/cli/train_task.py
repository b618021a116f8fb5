"""What `vae-exp-train` does once Hydra has composed its config: train, resume or run a sweep job,
and map what stops it to an exit status and a record.

Imported by `vae_exp.cli.train` only when a run starts, since it imports PyTorch and Lightning.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from vae_exp.foundation.errors import INTERRUPTED_EXIT, UserError
from vae_exp.loggers.adapters import viewing_lines
from vae_exp.models.metrics import VAL_LOSS, VAL_NEG_ELBO
from vae_exp.pipeline.execution import describe_error, execute, is_disk_full
from vae_exp.pipeline.hydra_callbacks import is_secondary_process, take_prepared
from vae_exp.pipeline.plan import RunPlan, prepare
from vae_exp.runs import record as run_record
from vae_exp.runs.layout import RESULTS_FILE
from vae_exp.runs.resume import changed_settings
from vae_exp.sweeps.kinds import is_search
from vae_exp.sweeps.report import report

log = logging.getLogger(__name__)


@rank_zero_only
def _report(record: dict[str, Any], run_dir: str, cfg: DictConfig) -> None:
    metrics = record["metrics"]
    lines = [
        f"Finished ({record['status']}) after {record['epochs']} epochs "
        f"in {record['wall_time_s']:.0f} s:",
        f"  {VAL_LOSS:<13} {metrics.get(VAL_LOSS, math.nan):.4f}",
        f"  {VAL_NEG_ELBO:<13} {metrics.get(VAL_NEG_ELBO, math.nan):.2f} nats per image",
        f"  run folder    {run_dir}",
    ]
    if record["best_checkpoint"]:
        lines.append(f"  checkpoint    {Path(run_dir) / record['best_checkpoint']}")
    viewing = viewing_lines(cfg.get("logger"), run_dir, cfg.paths.output_root)
    lines += [f"  {line}" for line in viewing]
    log.info("\n".join(lines))


def _record_failure(run_dir: str, error: BaseException) -> None:
    """A failed run or sweep job leaves its reason in its record (the summary reads it)."""
    run_record.write_results(run_dir, {"status": "failed", "error": describe_error(error)})


def run(cfg: DictConfig) -> float:
    """Train; return `optimized_metric` (NaN for a failed sweep job) for Hydra's sweepers."""
    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    try:
        return _run(cfg, hydra_cfg, run_dir, in_sweep)
    except SystemExit as stop:
        if in_sweep and stop.code == INTERRUPTED_EXIT and _in_process(hydra_cfg.launcher):
            log.warning("The sweep was interrupted: its summary lists every job as it stands")
            with contextlib.suppress(UserError):
                report(hydra_cfg.sweep.dir)
        raise


def _plan(cfg: DictConfig, hydra_cfg: Any, run_dir: str, in_sweep: bool) -> RunPlan:
    """The run's plan: the one its Hydra callback prepared, else this job's or process's own.

    A sweep's jobs run in folders Hydra made for them, and hold their folder's
    lock while they run, so that a summary can tell a dead job from a running
    one; a multi-process run's extra processes share rank 0's folder and lock.
    """
    prepared = take_prepared(run_dir)
    if prepared is not None:
        return prepared if prepared.resuming else prepared.with_config(cfg)
    return prepare(
        cfg,
        changed=changed_settings(list(hydra_cfg.overrides.task)),
        folder=run_dir,
        claim=False,
        lock=in_sweep and not is_secondary_process(),
    )


def _in_process(launcher: Any) -> bool:
    """Whether the jobs run in this process, one after another (Hydra's basic launcher)."""
    return "BasicLauncher" in str(launcher.get("_target_", "BasicLauncher"))


def _run(cfg: DictConfig, hydra_cfg: Any, run_dir: str, in_sweep: bool) -> float:
    plan = None
    try:
        plan = _plan(cfg, hydra_cfg, run_dir, in_sweep)
        cfg = plan.config
        record = execute(plan)
    except UserError as error:
        log.error("%s", error)
        if in_sweep:
            _record_failure(run_dir, error)
            if is_search(hydra_cfg.sweeper):
                raise
            return math.nan
        # A command refused before training leaves nothing behind: no run folder, no resume
        # record; a run that failed while training (divergence, a full disk) keeps its record.
        own_subdir = Path(run_dir) / str(hydra_cfg.output_subdir)
        if own_subdir.name.startswith("resume-") and not (Path(run_dir) / RESULTS_FILE).exists():
            shutil.rmtree(own_subdir, ignore_errors=True)
        run_record.discard_if_unused(run_dir)
        sys.exit(2)
    except Exception as error:
        if is_disk_full(error) and not in_sweep:
            log.error("%s", describe_error(error))  # one line: nothing else can be written
            sys.exit(2)
        # The traceback goes to train.log, the reason into results.json.
        log.exception("%s failed", "Job" if in_sweep else "Training")
        _record_failure(run_dir, error)
        if not in_sweep:
            sys.exit(1)
        if is_search(hydra_cfg.sweeper):
            raise  # a search sweeper (Optuna) marks the trial failed and goes on
        # One job's crash must not end a grid sweep; the sweep's report names it.
        return math.nan
    finally:
        if plan is not None:
            plan.release()
    _report(record, run_dir, cfg)
    return record["metrics"].get(cfg.get("optimized_metric") or VAL_LOSS, math.nan)
