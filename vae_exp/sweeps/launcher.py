"""`hydra/launcher=joblib`: Hydra's joblib launcher, with every job in a process of its own.

(The launcher class Hydra instantiates is `hydra_plugins.vae_exp_launcher.IsolatedJoblibLauncher`,
since Hydra takes launchers only from that package; its work is done here.)

Hydra's joblib launcher runs jobs in loky's worker processes; when one of them
dies (SIGKILL, the kernel's out-of-memory killer) loky ends them all, and the
sweep ends with `TerminatedWorkerError`: the other jobs lose their results and
no summary is written. Here each worker forks one child process per job and
waits for it, so a job whose process dies fails alone: its folder records how
it ended, the worker reports it to the sweeper, and the other jobs go on.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, setup_globals
from hydra.types import HydraContext, TaskFunction
from hydra_plugins.hydra_joblib_launcher._core import execute_job, process_joblib_cfg
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from joblib import Parallel, delayed
from omegaconf import DictConfig

from vae_exp.runs import record as run_record
from vae_exp.runs.claims import is_locked
from vae_exp.runs.errors import INTERRUPTED_EXIT, UserError
from vae_exp.runs.record import DamagedRecord
from vae_exp.sweeps.kinds import is_search
from vae_exp.sweeps.report import report

log = logging.getLogger(__name__)


class JobProcessDied(RuntimeError):
    """A sweep job's process ended without reporting a result."""


def launch(
    launcher: JoblibLauncher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
) -> Sequence[JobReturn]:
    """Run a batch of jobs `n_jobs` at a time, each in a child process of a joblib worker."""
    setup_globals()
    assert launcher.config is not None and launcher.hydra_context is not None
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    options = {**launcher.joblib, "backend": "loky"}  # Hydra's jobs need processes
    process_joblib_cfg(options)
    log.info(
        "Joblib.Parallel(%s) is launching %d jobs, each in a process of its own",
        ",".join(f"{k}={v}" for k, v in options.items()),
        len(job_overrides),
    )
    log.info("Launching jobs, sweep output dir : %s", sweep_dir)
    for index, overrides in enumerate(job_overrides):
        log.info("\t#%d : %s", initial_job_idx + index, " ".join(filter_overrides(overrides)))
    state = Singleton.get_state()
    try:
        return Parallel(**options)(
            delayed(run_in_child)(
                Job(
                    initial_job_idx + index,
                    list(overrides),
                    launcher.hydra_context,
                    launcher.config,
                    launcher.task_function,
                    state,
                )
            )
            for index, overrides in enumerate(job_overrides)
        )
    except KeyboardInterrupt:
        log.warning("The sweep was interrupted: its summary lists every job as it stands")
        settle(sweep_dir)
        with contextlib.suppress(UserError):
            report(sweep_dir)
        raise SystemExit(INTERRUPTED_EXIT) from None


def settle(sweep_dir: Path, patience_s: float = 60) -> None:
    """Wait until no job of the sweep holds its lock: each has recorded how it ended."""
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        if not any(is_locked(job) for job in sweep_dir.iterdir() if job.is_dir()):
            return
        time.sleep(0.1)


@dataclass(frozen=True)
class Job:
    """What a worker needs to run one job of the sweep (Hydra's `execute_job` arguments)."""

    index: int
    overrides: list[str]
    hydra_context: HydraContext
    config: DictConfig
    task_function: TaskFunction
    singleton_state: dict[Any, Any]


def run_in_child(job: Job) -> JobReturn:
    """Run one job in a forked child of this worker; a child that dies fails its job only."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, job), name=f"vae-exp-job-{job.index}")
    child.start()
    sender.close()
    folder, result = None, None
    try:
        while result is None:
            kind, value = receiver.recv()
            if kind == "folder":
                folder = value
            else:
                result = value
    except EOFError:
        pass  # the child ended without a result
    child.join()
    if result is not None:
        return result
    return _died(job, folder, child.exitcode)


def _child(sender: Connection, job: Job) -> None:
    def reporting_task(cfg: DictConfig) -> Any:
        sender.send(("folder", HydraConfig.get().runtime.output_dir))
        return job.task_function(cfg)

    result = execute_job(
        job.index, job.overrides, job.hydra_context, job.config, reporting_task, job.singleton_state
    )
    try:
        sender.send(("result", result))
    except Exception as error:  # a return value that cannot be pickled: the job still ran
        log.warning("Job %d: its result could not be passed back (%s)", job.index, error)
        sender.send(("result", _returned(job, result.working_dir, error)))
    sender.close()


def how_it_ended(exitcode: int | None) -> str:
    """A child's end, in words: the signal that killed it, or its exit status."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (the out-of-memory killer sends it too)" if name == "SIGKILL" else ""
        return f"the job's process was killed by {name}{hint}"
    return f"the job's process exited with status {exitcode} before it reported a result"


def _died(job: Job, folder: str | None, exitcode: int | None) -> JobReturn:
    reason = how_it_ended(exitcode)
    if exitcode == INTERRUPTED_EXIT:
        log.warning("Job %d was interrupted", job.index)
    else:
        log.error("Job %d failed: %s", job.index, reason)
    if folder is not None and exitcode != INTERRUPTED_EXIT:
        _record_death(Path(folder), reason)
    return _returned(job, folder, JobProcessDied(reason))


def _record_death(folder: Path, reason: str) -> None:
    """Mark the job failed, unless its process recorded how it ended itself."""
    try:
        recorded = (run_record.read_results(folder) or {}).get("status")
    except DamagedRecord:
        recorded = None
    if recorded in (None, "running"):
        run_record.write_results(folder, {"status": "failed", "error": reason})


def _returned(job: Job, folder: str | None, error: Exception) -> JobReturn:
    """What the sweeper is told of a job without a result of its own.

    A search sweeper (Optuna) learns of a failed trial from the exception; the
    basic sweeper would stop at the first one, so it is given NaN, as a job
    that fails inside its process returns (see `vae_exp.cli.train_task`).
    """
    searching = is_search(job.config.hydra.sweeper)
    return JobReturn(
        overrides=job.overrides,
        working_dir=folder or "",
        task_name=str(job.config.hydra.job.name),
        status=JobStatus.FAILED if searching else JobStatus.COMPLETED,
        _return_value=error if searching else float("nan"),
    )
