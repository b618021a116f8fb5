"""`hparams_search=optuna`: workers that draw trials from one Optuna study and run each as a job.

A worker asks the study for a trial, runs it as a job of the sweep (its
folder `trial_0007/`, named by the trial's number), and tells the study how it
ended, until the study holds `n_trials`. With `hydra/launcher=joblib
hydra.launcher.n_jobs=K` the command starts K workers, each running one trial
at a time, so no trial waits for a batch's slowest one; they share a stored
study (a SQLite file in the sweep folder when no storage is named). Each
job's PyTorch threads get an equal share of the machine's cores.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import Trial, TrialState

from vae_exp.foundation import atomic
from vae_exp.foundation.errors import INTERRUPTED_EXIT, UserError
from vae_exp.foundation.process import JOBS_AT_ONCE
from vae_exp.runs import record as run_record
from vae_exp.runs.layout import STUDY_FILE, TRIAL_PRUNING_CALLBACK
from vae_exp.runs.record import PRUNED
from vae_exp.sweeps import study as studies
from vae_exp.sweeps.naming import trial_folder
from vae_exp.sweeps.search_space import SearchSpace, override_value

log = logging.getLogger(__name__)

BEST_FILE = "optimization_results.yaml"
BEYOND = "beyond_n_trials"  # user attribute of a trial that stood back for another worker's
PRUNING_CALLBACK = f"callbacks.{TRIAL_PRUNING_CALLBACK}"


class TrialJobFailed(Exception):
    """The trial's job ran and failed (its folder's record says why)."""


class BeyondTotal(Exception):
    """Other workers took the study's last trials first."""


@dataclass(frozen=True)
class Search:
    """What each worker of a search needs."""

    config: DictConfig
    launcher: Launcher
    settings: studies.StudySettings
    space: SearchSpace
    sampler: optuna.samplers.BaseSampler | None
    sweep_dir: Path
    workers: int
    shared: bool = False  # other workers may fill the same study: each draws with its own seed


def shared_storage(search_settings: studies.StudySettings, sweep_dir: Path, workers: int) -> Any:
    """The storage URL: the one given, else the sweep folder's own where processes must share it."""
    if search_settings.storage is not None:
        return search_settings.storage
    if workers > 1 or search_settings.pruner != "none":
        return f"sqlite:///{(sweep_dir / STUDY_FILE).absolute()}"
    return None


def run_search(search: Search) -> None:
    """Fill the study with this command's workers, then write the study's best trial."""
    search.sweep_dir.mkdir(parents=True, exist_ok=True)
    settings = replace(
        search.settings, storage=shared_storage(search.settings, search.sweep_dir, search.workers)
    )
    shared = search.settings.storage is not None or search.workers > 1
    search = replace(search, settings=settings, shared=shared)
    where = settings.storage or "memory"
    log.info(
        "Study %r (%s): %d trials in all, %d worker(s) here",
        settings.study_name,
        where,
        settings.n_trials,
        search.workers,
    )
    if search.workers == 1:
        study = _work(search)
    else:
        _run_workers(search)
        study = studies.open_study(settings, None, with_heartbeat=False)
    write_best(study, search.sweep_dir)


def _run_workers(search: Search) -> None:
    """K workers in forked processes; Ctrl-C reaches each, which records how its trial ended."""
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_worker_process, args=(search,), name=f"vae-exp-worker-{n}")
        for n in range(search.workers)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:
            process.join()
        raise SystemExit(INTERRUPTED_EXIT) from None
    if any(p.exitcode == INTERRUPTED_EXIT for p in processes):
        raise SystemExit(INTERRUPTED_EXIT)
    died = [p.name for p in processes if p.exitcode not in (0, INTERRUPTED_EXIT)]
    if died:
        log.error("Workers ended before the study was full: %s", ", ".join(died))


def _worker_process(search: Search) -> None:
    os.environ[JOBS_AT_ONCE] = str(search.workers)
    try:
        _work(search)
    except SystemExit as stop:
        os._exit(stop.code if isinstance(stop.code, int) else 1)
    except KeyboardInterrupt:
        os._exit(INTERRUPTED_EXIT)
    os._exit(0)


def _sampler(search: Search) -> optuna.samplers.BaseSampler | None:
    """The configured sampler; each worker of a stored study draws from a seed of its own,
    or two workers started together would try the same settings."""
    if search.sampler is not None and search.shared:
        search.sampler.reseed_rng()
    return search.sampler


def _work(search: Search) -> optuna.Study:
    """One worker: run trials until the study holds `n_trials`; Ctrl-C puts its trial back."""
    settings = search.settings
    study = studies.open_study(settings, _sampler(search))
    started: list[int] = []  # the numbers of this worker's trials, the latest last
    objective = _objective(search, study, started)
    try:
        while not _is_done(study, search):
            study.optimize(objective, n_trials=1, catch=(TrialJobFailed, BeyondTotal))
    except KeyboardInterrupt:
        if started:
            _put_back_interrupted(study, started[-1])
        raise SystemExit(INTERRUPTED_EXIT) from None
    return study


def _is_done(study: optuna.Study, search: Search) -> bool:
    """Whether the study holds its `n_trials`, none still running; waits while one runs."""
    settings = search.settings
    while True:
        studies.fail_abandoned(study, search.sweep_dir, settings)
        trials = study.get_trials(deepcopy=False)
        if any(t.state == TrialState.WAITING for t in trials):
            return False
        if studies.count_taken(trials) < settings.n_trials:
            return False
        if not any(t.state == TrialState.RUNNING for t in trials):
            return True
        time.sleep(min(settings.heartbeat_interval, 5))  # a running trial may yet come back


def _put_back_interrupted(study: optuna.Study, number: int) -> None:
    """The trial Ctrl-C stopped is failed by Optuna; a waiting copy lets a resume run it again."""
    trial = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
    ended_by_itself = trial.user_attrs.get(studies.JOB_FAILED) or trial.user_attrs.get(BEYOND)
    if trial.state == TrialState.FAIL and not ended_by_itself:
        studies.retry_callback(None)(study, trial)
        log.warning("Trial %d was interrupted: it runs again on resume", trial.number)


def _objective(search: Search, study: optuna.Study, started: list[int]) -> Callable[[Trial], float]:
    def objective(trial: Trial) -> float:
        started.append(trial.number)
        if studies.is_beyond_total(study, trial.number, search.settings.n_trials):
            trial.set_user_attr(BEYOND, True)
            raise BeyondTotal(f"the study already holds {search.settings.n_trials} trials")
        params = {name: suggest(trial, name, d) for name, d in search.space.searched.items()}
        folder = trial_folder(trial.number)
        trial.set_user_attr(studies.JOB_FOLDER, folder)
        overrides = search.space.overrides(params) + pruning_overrides(search, trial.number)
        try:
            (job,) = search.launcher.launch([overrides], initial_job_idx=trial.number)
        except (SystemExit, KeyboardInterrupt) as stop:
            if isinstance(stop, SystemExit) and stop.code != INTERRUPTED_EXIT:
                raise
            raise KeyboardInterrupt from None
        return _outcome(trial, job, search.sweep_dir / folder)

    return objective


def suggest(trial: Trial, name: str, distribution: BaseDistribution) -> Any:
    """Draw `name` from `distribution` through Optuna's public suggest API."""
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, IntDistribution):
        d = distribution
        return trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
    if isinstance(distribution, FloatDistribution):
        d = distribution
        return trial.suggest_float(name, d.low, d.high, step=d.step, log=d.log)
    raise TypeError(f"no suggestion for {type(distribution).__name__}")


def pruning_overrides(search: Search, number: int) -> list[str]:
    """The job's `callbacks.trial_pruning`, which reports each epoch to the trial."""
    settings = search.settings
    if settings.pruner == "none":
        return []
    metric = search.config.get("optimized_metric") or "val/loss"
    values = {
        "_target_": "vae_exp.sweeps.trial_pruning.TrialPruning",
        "storage": settings.storage,
        "study_name": settings.study_name,
        "trial_number": number,
        "pruner": settings.pruner,
        "monitor": metric,
    }
    lines = [f"+{PRUNING_CALLBACK}.{key}={override_value(value)}" for key, value in values.items()]
    for key, value in (settings.pruner_settings or {}).items():
        lines.append(f"+{PRUNING_CALLBACK}.pruner_settings.{key}={override_value(value)}")
    return lines


def _outcome(trial: Trial, job: JobReturn, folder: Path) -> float:
    """The trial's value; pruned and failed jobs end the trial as such."""
    record: dict[str, Any] = {}
    with contextlib.suppress(UserError):
        record = run_record.read_results(folder) or {}
    if record.get("status") == PRUNED:
        raise optuna.TrialPruned(f"pruned after epoch {record.get('epochs')}")
    if record.get("status") == "interrupted":  # the job was stopped (SIGTERM), not its settings
        raise KeyboardInterrupt
    if job.status != JobStatus.COMPLETED:
        trial.set_user_attr(studies.JOB_FAILED, True)
        raise TrialJobFailed(f"{folder.name} failed: {job._return_value}")
    value = float(job.return_value)
    if not math.isfinite(value):
        trial.set_user_attr(studies.JOB_FAILED, True)
        raise TrialJobFailed(f"{folder.name} returned {value}")
    return value


def write_best(study: optuna.Study, sweep_dir: Path) -> None:
    """`optimization_results.yaml`: the best trial of the whole study, whichever worker ran it."""
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not finished:
        log.warning("No trial of study %r has finished", study.study_name)
        return
    best = study.best_trial
    text = OmegaConf.to_yaml(
        {
            "name": "optuna",
            "study_name": study.study_name,
            "best_trial": best.number,
            "best_job_folder": best.user_attrs.get(studies.JOB_FOLDER),
            "best_params": dict(best.params),
            "best_value": best.value,
            "trials": _states(study),
        }
    )
    atomic.write_text(sweep_dir / BEST_FILE, text)
    log.info("Best value: %s (trial %d, %s)", best.value, best.number, best.params)


def _states(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] = counts.get(trial.state.name.lower(), 0) + 1
    return counts
