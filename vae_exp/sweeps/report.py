"""Prints a sweep's summary and says which jobs failed."""

from __future__ import annotations

import logging
from pathlib import Path

from vae_exp.sweeps.summary import SweepSummary, summarize

log = logging.getLogger(__name__)


def report(sweep_dir: str | Path, rank_metric: str | None = None) -> SweepSummary:
    """Summarize `sweep_dir`, print the table and the files written, warn of failed jobs."""
    summary = summarize(sweep_dir, rank_metric)
    lines = [
        f"Sweep {summary.sweep_dir}: {len(summary.rows)} jobs, best first by {summary.rank_metric}",
        summary.markdown(),
        f"Table: {summary.csv_path}",
    ]
    if summary.plot_path is not None:
        lines.append(f"Plot:  {summary.plot_path}")
    lines.append(f"TensorBoard: tensorboard --logdir {summary.sweep_dir}")
    print("\n".join(lines), flush=True)
    for job in summary.failed:
        log.error("Job %s failed: %s", job.folder.name, job.error)
    return summary
