"""A sweep's summary: a table (terminal, CSV) and a plot of val/loss against each swept setting."""

from __future__ import annotations

import csv
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from omegaconf import DictConfig

from vae_exp.foundation import atomic
from vae_exp.foundation.errors import ConfigError
from vae_exp.models.metrics import EVALUATION_COLUMNS, SUMMARY_METRICS, VAL_LOSS
from vae_exp.runs.layout import CONFIG_FILE
from vae_exp.runs.record import read_yaml_record
from vae_exp.sweeps.jobs import JobResult, read_sweep, swept_settings

log = logging.getLogger(__name__)

PLOT_METRIC = VAL_LOSS
CSV_FILE = "summary.csv"
PLOT_FILE = "summary.png"


@dataclass
class SweepSummary:
    """The rows of a sweep, best first, and where their table and plot were written."""

    sweep_dir: Path
    rank_metric: str
    settings: list[str]
    rows: list[dict[str, Any]]
    failed: list[JobResult]
    csv_path: Path
    plot_path: Path | None

    def markdown(self) -> str:
        if not self.rows:
            return "(no jobs)"
        header = list(self.rows[0])
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_cell(row[h]) for h in header) + " |" for row in self.rows]
        return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)


def optimized_metric(jobs: list[JobResult]) -> str:
    """The metric the sweep optimised (`optimized_metric` in the jobs' config), else val/loss."""
    for job in jobs:
        config = job.folder / CONFIG_FILE
        if config.is_file():
            saved = read_yaml_record(config)
            metric = saved.get("optimized_metric") if isinstance(saved, DictConfig) else None
            return metric if isinstance(metric, str) else PLOT_METRIC
    return PLOT_METRIC


def _ranked(jobs: list[JobResult], metric: str) -> list[JobResult]:
    """Completed jobs from the lowest `metric` up, then the others."""

    def key(job: JobResult) -> tuple[int, float]:
        value = job.metric(metric)
        done = job.status == "completed" and math.isfinite(value)
        return (0 if done else 1, value if done else math.inf)

    return sorted(jobs, key=key)


def _row(
    job: JobResult, settings: list[str], rank_metric: str, evaluated: list[str]
) -> dict[str, Any]:
    row: dict[str, Any] = {"job": job.folder.name}
    row.update({key: job.overrides.get(key) for key in settings})
    metrics = SUMMARY_METRICS if rank_metric in SUMMARY_METRICS else (rank_metric, *SUMMARY_METRICS)
    row.update({metric: job.metric(metric) for metric in metrics})
    row.update({column: job.metric(column) for column in evaluated if column not in row})
    row.update(
        epochs=job.epochs,
        wall_time_s=job.wall_time_s,
        status=job.status,
        error=job.error or "",
    )
    return row


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with atomic.atomic_open(path, "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["job"])
        writer.writeheader()
        writer.writerows(rows)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def loss_plot(jobs: list[JobResult], settings: list[str]) -> Figure | None:
    """val/loss against each numeric swept setting, one line per value of the others."""
    done = [j for j in jobs if j.status == "completed" and math.isfinite(j.metric(PLOT_METRIC))]
    numeric = [k for k in settings if done and all(_is_number(j.overrides.get(k)) for j in done)]
    if not numeric:
        return None
    fig = Figure(figsize=(5 * len(numeric), 4))
    for index, key in enumerate(numeric, start=1):
        ax = fig.add_subplot(1, len(numeric), index)
        others = [k for k in settings if k != key]
        lines: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for job in done:
            label = ", ".join(f"{k}={job.overrides.get(k)}" for k in others) or PLOT_METRIC
            lines[label].append((job.overrides[key], job.metric(PLOT_METRIC)))
        for label, points in sorted(lines.items()):
            xs, ys = zip(*sorted(points), strict=True)
            ax.plot(xs, ys, marker="o", label=label)
        values = [job.overrides[key] for job in done]
        if min(values) > 0 and max(values) / min(values) >= 20:
            ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel(PLOT_METRIC)
        ax.grid(alpha=0.3)
        if len(lines) > 1:
            ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def summarize(sweep_dir: str | Path, rank_metric: str | None = None) -> SweepSummary:
    """Read a sweep folder (finished or not) and write its summary.csv and summary.png.

    Rows are ranked by `rank_metric` (default: the sweep's `optimized_metric`), lowest first.
    """
    folder = Path(sweep_dir)
    jobs = read_sweep(folder)
    settings = swept_settings(jobs)
    if rank_metric is not None:
        recorded = {name for job in jobs for name in (*job.metrics, *job.evaluation)}
        if recorded and rank_metric not in recorded:
            allowed = f"a metric the jobs recorded: {', '.join(sorted(recorded))}"
            raise ConfigError("--rank", rank_metric, allowed)
    rank_metric = rank_metric or optimized_metric(jobs)
    ranked = _ranked(jobs, rank_metric)
    # The evaluation columns appear once a job of the sweep has been evaluated.
    evaluated = [c for c in EVALUATION_COLUMNS if any(c in job.evaluation for job in jobs)]
    rows = [_row(job, settings, rank_metric, evaluated) for job in ranked]
    csv_path = folder / CSV_FILE
    write_csv(rows, csv_path)
    figure = loss_plot(jobs, settings)
    plot_path = None
    if figure is not None:
        plot_path = folder / PLOT_FILE
        with atomic.atomic_open(plot_path, "wb") as handle:
            figure.savefig(handle, format="png", dpi=100)
    failed = [job for job in ranked if job.status == "failed"]
    return SweepSummary(folder, rank_metric, settings, rows, failed, csv_path, plot_path)
