"""`logger=mlflow`: Lightning's MLflow logger, with a local store that parallel jobs can share,
and a tracking server that can never cost the run its local results.

A server that cannot be reached is found before training (`check_tracking_server`).
One that goes away during a run costs at most one bounded wait: each request
gives up after `REQUEST_TIMEOUT_S` seconds and `REQUEST_RETRIES` retries (unless
the environment sets MLflow's own `MLFLOW_HTTP_REQUEST_*` variables), and after
the first failure the logger sends nothing more, with one warning. Training,
signals and the run folder's own records go on as without MLflow.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shlex
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig
from pytorch_lightning.loggers import MLFlowLogger

from vae_exp.foundation.errors import ConfigError
from vae_exp.loggers.adapters import LoggerAdapter
from vae_exp.loggers.pictures import Picture

log = logging.getLogger(__name__)

SQLITE_PREFIX = "sqlite:///"  # then a relative path, or a fourth slash and an absolute one
ARTIFACTS_DIR = "mlartifacts"  # beside a local store's database, as `mlflow server` names it
REMOTE_SCHEMES = ("http://", "https://")
REQUEST_TIMEOUT_S = 10
REQUEST_RETRIES = 2
PROBE_TIMEOUT_S = 5
_REQUEST_SETTINGS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT_S),
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(REQUEST_RETRIES),
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}


class MLflow(LoggerAdapter):
    """Pictures as MLflow images, a series per tag; the server or `mlflow ui` command to open;
    a tracking server that does not answer is refused before training."""

    needs = ("mlflow", '"vae-exp[mlflow]"')

    def log_pictures(
        self,
        logger: MLFlowLogger,
        pictures: Mapping[str, Picture],
        step: int,
        rgb: Callable[[str], np.ndarray],
    ) -> None:
        send = getattr(logger, "log_image", None) or _client_image(logger)
        for tag in pictures:  # `key` and `step`: MLflow keeps every epoch's, as a series
            send(rgb(tag), key=tag, step=step)

    def viewing_line(self, entry: DictConfig, run_dir: str, output_root: str) -> str:
        uri = str(entry.tracking_uri)
        if uri.startswith(REMOTE_SCHEMES):
            return f"MLflow:       {uri} (experiment {entry.experiment_name})"
        return f"MLflow:       mlflow ui --backend-store-uri {shlex.quote(uri)}"

    def check(self, entry: DictConfig, setting: str) -> None:
        check_tracking_server(entry.get("tracking_uri"), f"{setting}.tracking_uri")


def _client_image(logger: MLFlowLogger) -> Callable[..., None]:
    """Lightning's own MLflow logger has no picture method: call the client directly."""

    def send(image: np.ndarray, key: str, step: int) -> None:
        logger.experiment.log_image(logger.run_id, image, key=key, step=step)

    return send


class MLflowLogger(MLFlowLogger):
    """MLflow, by default into an SQLite store inside the output root.

    A local store's artifacts (the pictures) go into `mlartifacts/` beside its
    database, not into the working directory. The first use of a local store
    creates its tables and the experiment; jobs of a parallel sweep do that
    under a file lock, one at a time. A tracking server (`http://...`) keeps
    its own artifact store.

    Args:
        tracking_uri: `sqlite:///PATH`, `http://HOST:PORT` or any URI MLflow takes.
        experiment_name: the MLflow experiment the run goes into.
        run_name: the run's name in MLflow (by default the run folder's name).
        **kwargs: the other arguments of Lightning's `MLFlowLogger`.
    """

    vae_exp_adapter = MLflow()

    def __init__(
        self,
        tracking_uri: str,
        experiment_name: str = "vae-exp",
        run_name: str | None = None,
        artifact_location: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._remote = tracking_uri.startswith(REMOTE_SCHEMES)
        self._lost_at: int | None = None  # the step from which the server missed everything
        self._last_step = 0
        if self._remote:
            for name, value in _REQUEST_SETTINGS.items():  # the user's own settings win
                os.environ.setdefault(name, value)
        database = local_database(tracking_uri)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
            if artifact_location is None:
                artifact_location = (database.parent / ARTIFACTS_DIR).as_uri()
        self._store_lock = database.with_name(f".{database.name}.lock") if database else None
        with _locked(self._store_lock):  # the client creates a new store's tables
            super().__init__(
                experiment_name=experiment_name,
                run_name=run_name,
                tracking_uri=tracking_uri,
                artifact_location=artifact_location,
                **kwargs,
            )

    @property
    def experiment(self) -> Any:
        if self._initialized:
            return super().experiment
        with _locked(self._store_lock):  # one job at a time creates the experiment
            return super().experiment

    @property
    def reachable(self) -> bool:
        """False once a tracking server failed to answer: nothing more is sent to it."""
        return self._lost_at is None

    def _send(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Make one call to the store; a server that fails is given up for the rest of the run."""
        if not self.reachable:
            return None
        try:
            return call(*args, **kwargs)
        except Exception as error:  # MlflowException, requests' errors: the server is gone
            if not self._remote:
                raise
            self._lost_at = self._last_step
            reason = " ".join(str(error).split())[:300]
            log.warning(
                "MLflow at %s stopped answering (%s). Training goes on and the run folder keeps "
                "its own records; the MLflow run lacks everything from step %d on.",
                self._tracking_uri,
                reason,
                self._lost_at,
            )
            return None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._last_step = step if step is not None else self._last_step
        self._send(super().log_metrics, metrics, step)

    def log_hyperparams(self, params: Any) -> None:
        self._send(super().log_hyperparams, params)

    def log_image(self, image: Any, key: str, step: int) -> None:
        """One picture, as a series under `key` (MLflow keeps every step's)."""
        self._send(lambda: self.experiment.log_image(self.run_id, image, key=key, step=step))

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        self._send(super().after_save_checkpoint, checkpoint_callback)

    def finalize(self, status: str = "success") -> None:
        self._send(super().finalize, status)


def check_tracking_server(tracking_uri: object, setting: str) -> None:
    """Refuse a tracking server that does not answer now, before any folder is made."""
    if not (isinstance(tracking_uri, str) and tracking_uri.startswith(REMOTE_SCHEMES)):
        return
    url = tracking_uri.rstrip("/") + "/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a server named by URL
    try:
        with opener.open(url, timeout=PROBE_TIMEOUT_S) as response:
            response.read(64)
    except urllib.error.HTTPError:
        return  # it answers (a server without /health, or behind authentication)
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise ConfigError(
            setting,
            tracking_uri,
            f"a tracking server that answers: {url} gave no answer within {PROBE_TIMEOUT_S} s "
            f"({reason}); start the server, or choose another logger",
        ) from None


def local_database(tracking_uri: str) -> Path | None:
    """The database file of an `sqlite:///` tracking URI; None for any other store."""
    if not tracking_uri.startswith(SQLITE_PREFIX):
        return None
    return Path(tracking_uri.removeprefix(SQLITE_PREFIX).split("?")[0]).absolute()


@contextlib.contextmanager
def _locked(path: Path | None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (nothing to hold for None)."""
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
