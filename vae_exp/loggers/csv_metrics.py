"""`logger=csv`: the run's scalars as a table, one row per epoch, in the run folder."""

from __future__ import annotations

import csv
import io
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from omegaconf import DictConfig
from pytorch_lightning.loggers.logger import Logger
from pytorch_lightning.utilities import rank_zero_only

from vae_exp.foundation import atomic
from vae_exp.loggers.adapters import LoggerAdapter
from vae_exp.runs.layout import HPARAMS_FILE, METRICS_FILE

EPOCH, STEP = "epoch", "step"


class CSVMetrics(LoggerAdapter):
    """No pictures; the metrics file to open."""

    def viewing_line(self, entry: DictConfig, run_dir: str, output_root: str) -> str:
        return f"CSV:          {Path(entry.save_dir) / METRICS_FILE}"


class EpochCSVLogger(Logger):
    """Writes `metrics.csv`: a row per epoch holding every scalar logged in it.

    Lightning's CSVLogger writes a row per logging call (training and
    validation of one epoch land on different rows) and deletes an existing
    file when a run resumes. Here a row gathers all of an epoch's scalars (a
    per-step scalar such as `train/loss_step` shows its last value), the file
    is replaced atomically, and a resumed run keeps the rows of the epochs its
    checkpoint holds: only epochs it trains again are written anew.

    Args:
        save_dir: the folder of `metrics.csv` (the run folder).
    """

    vae_exp_adapter = CSVMetrics()

    def __init__(self, save_dir: str | Path) -> None:
        super().__init__()
        self._folder = Path(save_dir)
        self._rows: dict[int, dict[str, float]] = _read_rows(self._folder / METRICS_FILE)
        self._epochs_logged: set[int] = set()
        self._changed = False

    @property
    def name(self) -> str:
        return ""

    @property
    def version(self) -> str:
        return ""

    @property
    def save_dir(self) -> str:
        return str(self._folder)

    @property
    def log_dir(self) -> str:
        return str(self._folder)

    @property
    def metrics_file(self) -> Path:
        return self._folder / METRICS_FILE

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        path = self._folder / HPARAMS_FILE
        if not path.exists():  # the TensorBoard logger may have written the same already
            params = vars(params) if isinstance(params, Namespace) else dict(params)
            atomic.write_text(path, yaml.safe_dump(_plain(params)))

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        values = {name: _number(value) for name, value in metrics.items()}
        epoch = values.pop(EPOCH, None)
        epoch = int(epoch) if epoch is not None else max(self._rows, default=0)
        if epoch not in self._epochs_logged:
            # An epoch logged again (after resuming) replaces that epoch and any after it.
            self._rows = {e: row for e, row in self._rows.items() if e < epoch}
            self._epochs_logged.add(epoch)
        row = self._rows.setdefault(epoch, {})
        row.update(values)
        if step is not None:
            row[STEP] = step
        self._changed = True

    @rank_zero_only
    def save(self) -> None:
        if not self._changed:
            return
        names = sorted({name for row in self._rows.values() for name in row} - {STEP})
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=[EPOCH, STEP, *names], lineterminator="\n")
        writer.writeheader()
        for epoch in sorted(self._rows):
            writer.writerow({EPOCH: epoch, **self._rows[epoch]})
        self._folder.mkdir(parents=True, exist_ok=True)
        atomic.write_text(self.metrics_file, text.getvalue())
        self._changed = False

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.save()


def _read_rows(path: Path) -> dict[int, dict[str, float]]:
    """The rows of an existing `metrics.csv` (a resumed run's), by epoch."""
    if not path.is_file():
        return {}
    rows: dict[int, dict[str, float]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            epoch = int(row.pop(EPOCH))
            rows[epoch] = {name: float(value) for name, value in row.items() if value != ""}
            if STEP in rows[epoch]:
                rows[epoch][STEP] = int(rows[epoch][STEP])
    return rows


def _number(value: Any) -> float:
    return value.item() if isinstance(value, torch.Tensor) else value


def _plain(value: Any) -> Any:
    """Hyperparameters as YAML can write them without Python tags."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
