"""An Optuna study that many workers fill together: its storage, its pruner, its count of trials.

A worker is one `vae-exp-train hparams_search=optuna` process. Workers started
with the same `hydra.sweeper.storage` and `hydra.sweeper.study_name` share one
study, wherever they run. The study's `n_trials` is a total over all of them.
Failed trials of living workers count toward it, so a setting that always fails
cannot keep a search going forever. A dead worker's trial is failed and put
back as a waiting copy, which does not count twice.
"""

from __future__ import annotations

import inspect
import logging
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from vae_exp.foundation.errors import ConfigError
from vae_exp.runs.claims import is_locked

log = logging.getLogger(__name__)

JOURNAL_PREFIX = "journal:"  # hydra.sweeper.storage=journal:/shared/search.log
JOB_FAILED = "job_failed"  # user attribute of a trial whose job ran and failed: it counts
JOB_FOLDER = "job_folder"  # user attribute: the trial's job folder, inside the sweep folder
RETRIED_FROM = "failed_trial"  # Optuna's own system attribute of a retried copy
PRUNERS = ("none", "median", "hyperband")
PRUNER_CHOICES = "none, median or hyperband"
_OPEN_ATTEMPTS = 5  # workers creating one new database at once may race for its tables


@dataclass(frozen=True)
class StudySettings:
    """The `hydra.sweeper` settings that say which study a worker fills, and how."""

    study_name: str
    storage: str | None
    direction: str
    n_trials: int
    pruner: str = "none"
    pruner_settings: dict[str, Any] = field(default_factory=dict)
    heartbeat_interval: int = 60
    grace_period: int = 120
    max_retry: int = 3

    def check(self) -> None:
        """Refuse a setting that cannot work, in one line, before any trial."""
        if self.direction not in ("minimize", "maximize"):
            raise ConfigError("hydra.sweeper.direction", self.direction, "minimize or maximize")
        if not isinstance(self.n_trials, int) or self.n_trials < 1:
            raise ConfigError("hydra.sweeper.n_trials", self.n_trials, "a whole number >= 1")
        if self.pruner not in PRUNERS:
            raise ConfigError("hydra.sweeper.pruner", self.pruner, PRUNER_CHOICES)
        for name in ("heartbeat_interval", "grace_period"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"hydra.sweeper.{name}", value, "whole seconds >= 1")
        if self.grace_period <= self.heartbeat_interval:
            raise ConfigError(
                "hydra.sweeper.grace_period",
                self.grace_period,
                f"more seconds than hydra.sweeper.heartbeat_interval ({self.heartbeat_interval})",
            )
        if self.storage is not None and not isinstance(self.storage, str):
            raise ConfigError("hydra.sweeper.storage", self.storage, "an Optuna storage URL")


def pruner(name: str, settings: dict[str, Any] | None = None) -> optuna.pruners.BasePruner:
    """Optuna's pruner for `hydra.sweeper.pruner`, with `hydra.sweeper.pruner_settings`."""
    kinds: dict[str, Callable[..., optuna.pruners.BasePruner]] = {
        "none": optuna.pruners.NopPruner,
        "median": optuna.pruners.MedianPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
    }
    if name not in kinds:
        raise ConfigError("hydra.sweeper.pruner", name, PRUNER_CHOICES)
    try:
        return kinds[name](**dict(settings or {}))
    except TypeError as error:
        allowed = ", ".join(inspect.signature(kinds[name]).parameters) or "none"
        raise ConfigError(
            "hydra.sweeper.pruner_settings", dict(settings or {}), f"settings of {name}: {allowed}"
        ) from error


def retry_callback(max_retry: int) -> Any:
    """Optuna's callback that puts a dead worker's trial back as a waiting copy."""
    callbacks = optuna.storages
    kind = getattr(callbacks, "RetryHeartbeatStaleTrialCallback", None)  # Optuna >= 4.9
    if kind is None:
        kind = callbacks.RetryFailedTrialCallback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return kind(max_retry=max_retry)


def open_storage(settings: StudySettings, with_heartbeat: bool = True) -> BaseStorage | None:
    """The study's storage: None in memory, a journal file, or a database (with heartbeats)."""
    url = settings.storage
    if url is None:
        return None
    if url.startswith(JOURNAL_PREFIX):
        path = Path(url[len(JOURNAL_PREFIX) :]).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        return JournalStorage(backend)
    options: dict[str, Any] = {}
    if with_heartbeat:
        parameters = inspect.signature(RDBStorage).parameters
        stale = (
            "heartbeat_stale_trial_callback"
            if "heartbeat_stale_trial_callback" in parameters
            else "failed_trial_callback"
        )
        options = {
            "heartbeat_interval": settings.heartbeat_interval,
            "grace_period": settings.grace_period,
            stale: retry_callback(settings.max_retry),
        }
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                return RDBStorage(url, engine_kwargs=engine, **options)
        except Exception as error:  # a table another worker created meanwhile
            if attempt == _OPEN_ATTEMPTS - 1 or not _is_race(error):
                raise ConfigError(
                    "hydra.sweeper.storage", url, f"an Optuna storage that opens ({error})"
                ) from None
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def _is_race(error: Exception) -> bool:
    text = str(error).lower()
    return "already exists" in text or "locked" in text or "unique constraint" in text


def open_study(
    settings: StudySettings,
    sampler: optuna.samplers.BaseSampler | None,
    with_heartbeat: bool = True,
) -> optuna.Study:
    """The stored study, created by whichever worker comes first."""
    return optuna.create_study(
        study_name=settings.study_name,
        storage=open_storage(settings, with_heartbeat),
        sampler=sampler,
        pruner=pruner(settings.pruner, settings.pruner_settings),
        direction=settings.direction,
        load_if_exists=True,
    )


def has_heartbeat(study: optuna.Study) -> bool:
    return optuna.storages._heartbeat.is_heartbeat_enabled(study._storage)


def counted(trial: FrozenTrial) -> bool:
    """Whether the trial takes one of the study's `n_trials`."""
    if trial.state == TrialState.FAIL:
        return bool(trial.user_attrs.get(JOB_FAILED))
    return trial.state != TrialState.FAIL


def count_taken(trials: Iterable[FrozenTrial]) -> int:
    return sum(1 for trial in trials if counted(trial))


def is_beyond_total(study: optuna.Study, number: int, n_trials: int) -> bool:
    """Whether trial `number` would overshoot: `n_trials` trials with lower numbers count already.

    Two workers that ask in the same instant both see room for one more trial;
    the storage numbers their trials apart, so the lower number keeps its place.
    """
    trials = study.get_trials(deepcopy=False)
    this = next(t for t in trials if t.number == number)
    if RETRIED_FROM in this.system_attrs:  # a copy stands in for a dead worker's trial
        return False
    return count_taken(t for t in trials if t.number < number) >= n_trials


def fail_abandoned(study: optuna.Study, sweep_dir: Path, settings: StudySettings) -> None:
    """Fail, and put back, running trials whose worker is gone, where no heartbeat tells.

    A storage with heartbeats (a database) does this itself. A journal file has
    none, so a trial counts as abandoned when it started more than
    `grace_period` seconds ago and no process holds its job folder's lock.
    """
    if has_heartbeat(study):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return
    if settings.storage is None:
        return
    now = time.time()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        folder = trial.user_attrs.get(JOB_FOLDER)
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        if folder is None or now - started < settings.grace_period:
            continue
        if is_locked(sweep_dir / Path(str(folder)).name):
            continue
        log.warning("Trial %d's worker is gone: the trial is failed and tried again", trial.number)
        trial_id = study._storage.get_trial_id_from_study_id_trial_number(
            study._study_id, trial.number
        )
        try:
            failed = study._storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker was first
            continue
        if failed:
            retry_callback(settings.max_retry)(study, study._storage.get_trial(trial_id))
