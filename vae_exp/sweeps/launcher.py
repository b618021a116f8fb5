"""`hydra/launcher=joblib`: parallel sweep jobs on one machine, each in a process of its own.

(The launcher class Hydra instantiates is `hydra_plugins.vae_exp_launcher.IsolatedJoblibLauncher`,
since Hydra takes launchers only from that package; its work is done here.)

Hydra's joblib launcher runs jobs in loky's worker processes; when one of them
dies (SIGKILL, the kernel's out-of-memory killer) loky ends them all, and the
sweep ends with `TerminatedWorkerError`: the other jobs lose their results and
no summary is written. Here the sweep's process forks one child per job, at
most `n_jobs` at a time (joblib's meaning: -1 is one per CPU), and waits for
them: a job whose process dies fails alone, its folder records how it ended,
the sweeper is told, and the other jobs go on. The joblib launcher's other
settings (backend, batching, memory mapping) have nothing to tune here.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from hydra_plugins.hydra_joblib_launcher._core import execute_job
from omegaconf import DictConfig

from vae_exp.foundation.errors import INTERRUPTED_EXIT, UserError
from vae_exp.foundation.process import JOBS_AT_ONCE
from vae_exp.runs import record as run_record
from vae_exp.runs.record import DamagedRecord
from vae_exp.sweeps.kinds import is_search
from vae_exp.sweeps.report import report

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1  # prctl(2)
STOP_PATIENCE_S = 120  # how long an interrupted sweep waits for its jobs to record their end


class JobProcessDied(RuntimeError):
    """A sweep job's process ended without reporting a result."""


@dataclass(frozen=True)
class Job:
    """What a job's process needs (Hydra's `execute_job` arguments)."""

    index: int
    overrides: list[str]
    hydra_context: HydraContext
    config: DictConfig
    task_function: TaskFunction
    singleton_state: dict[Any, Any]


@dataclass
class _Running:
    job: Job
    process: BaseProcess
    receiver: Connection
    folder: str | None = None
    result: JobReturn | None = None


def parallel_jobs(n_jobs: Any) -> int:
    """How many jobs run at once for joblib's `n_jobs`: -1 one per CPU, -2 all but one..."""
    cpus = os.cpu_count() or 1
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    return max(1, n_jobs if n_jobs > 0 else cpus + 1 + n_jobs)


def launch(
    launcher: Launcher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
) -> Sequence[JobReturn]:
    """Run a batch of jobs, `n_jobs` at a time, each in a forked child of this process."""
    setup_globals()
    assert launcher.config is not None and launcher.hydra_context is not None
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    at_once = min(parallel_jobs(launcher.joblib.get("n_jobs", -1)), max(len(job_overrides), 1))
    log.info(
        "Launching %d jobs, %d at a time, each in a process of its own", len(job_overrides), at_once
    )
    log.info("Launching jobs, sweep output dir : %s", sweep_dir)
    for index, overrides in enumerate(job_overrides):
        log.info("\t#%d : %s", initial_job_idx + index, " ".join(filter_overrides(overrides)))
    state = Singleton.get_state()
    jobs = [
        Job(
            initial_job_idx + index,
            list(overrides),
            launcher.hydra_context,
            launcher.config,
            launcher.task_function,
            state,
        )
        for index, overrides in enumerate(job_overrides)
    ]
    running: list[_Running] = []
    try:
        return _run_all(jobs, at_once, running)
    except KeyboardInterrupt:
        log.warning("The sweep was interrupted: stopping its running jobs, then its summary")
        _stop(running)
        with contextlib.suppress(UserError):
            report(sweep_dir)
        raise SystemExit(INTERRUPTED_EXIT) from None


def _run_all(jobs: list[Job], at_once: int, running: list[_Running]) -> list[JobReturn]:
    """Keep `at_once` jobs in `running` until all have ended; their results in job order."""
    waiting, results = list(jobs), {}
    while waiting or running:
        while waiting and len(running) < at_once:
            running.append(_start(waiting.pop(0), at_once))
        ready = wait([r.receiver for r in running] + [r.process.sentinel for r in running])
        for entry in list(running):
            _receive(entry)
            if entry.process.sentinel in ready or entry.result is not None:
                entry.process.join()
                results[entry.job.index] = entry.result or _died(
                    entry.job, entry.folder, entry.process.exitcode
                )
                running.remove(entry)
    return [results[job.index] for job in jobs]


def _stop(running: list[_Running], patience_s: float = STOP_PATIENCE_S) -> None:
    """Stop the running jobs as a cluster's time limit does (SIGTERM), and wait for them.

    Each saves `interrupted.ckpt` and records itself `interrupted`, as a single
    run does; SIGTERM (not a second SIGINT, which a terminal has sent them
    already) cannot cut that short.
    """
    for entry in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(entry.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + patience_s
    for entry in running:
        entry.process.join(max(deadline - time.monotonic(), 0))


def _end_with_parent() -> None:
    """Have the kernel send this job SIGTERM if the sweep's process dies (Linux), so that a
    killed sweep or search worker leaves no orphan job training on."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _start(job: Job, at_once: int) -> _Running:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    name = f"vae-exp-job-{job.index}"
    process = context.Process(target=_child, args=(sender, job, at_once), name=name)
    process.start()
    sender.close()
    return _Running(job, process, receiver)


def _receive(entry: _Running) -> None:
    """Take what the job's process has sent: its folder, then its result."""
    while entry.result is None and entry.receiver.poll():
        try:
            kind, value = entry.receiver.recv()
        except EOFError:  # the process ended without a result
            return
        if kind == "folder":
            entry.folder = value
        else:
            entry.result = value


def _child(sender: Connection, job: Job, at_once: int) -> None:
    _end_with_parent()
    os.environ.setdefault(JOBS_AT_ONCE, str(at_once))  # a search worker has set it already

    def reporting_task(cfg: DictConfig) -> Any:
        sender.send(("folder", HydraConfig.get().runtime.output_dir))
        return job.task_function(cfg)

    result = execute_job(
        job.index, job.overrides, job.hydra_context, job.config, reporting_task, job.singleton_state
    )
    try:
        sender.send(("result", _without_configs(result)))
    except Exception as error:  # a return value that cannot be pickled: the job still ran
        log.warning("Job %d: its result could not be passed back (%s)", job.index, error)
        sender.send(("result", _returned(job, result.working_dir, error)))
    sender.close()


def _without_configs(result: JobReturn) -> JobReturn:
    """The result as the sweep's process needs it: its configs hold classes of plugins'
    schemas, which cannot always be pickled, and the sweep has them already."""
    return JobReturn(
        overrides=result.overrides,
        working_dir=result.working_dir,
        task_name=result.task_name,
        status=result.status,
        _return_value=result._return_value,
    )


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
