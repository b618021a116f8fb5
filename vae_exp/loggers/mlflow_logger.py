"""`logger=mlflow`: Lightning's MLflow logger, with a local store that parallel jobs can share."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import MLFlowLogger

SQLITE_PREFIX = "sqlite:///"  # then a relative path, or a fourth slash and an absolute one
ARTIFACTS_DIR = "mlartifacts"  # beside a local store's database, as `mlflow server` names it


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

    def __init__(
        self,
        tracking_uri: str,
        experiment_name: str = "vae-exp",
        run_name: str | None = None,
        artifact_location: str | None = None,
        **kwargs: Any,
    ) -> None:
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
