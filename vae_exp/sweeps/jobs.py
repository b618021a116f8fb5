"""Reads the jobs of a sweep folder: their swept settings and what their runs recorded."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from vae_exp.models.metrics import EVALUATION_COLUMNS
from vae_exp.runs.errors import UserError
from vae_exp.runs.layout import EVALUATION_FILE, RESULTS_FILE


@dataclass
class JobResult:
    """One job of a sweep, as its folder tells it."""

    folder: Path
    number: int
    overrides: dict[str, Any]
    status: str  # completed, failed, interrupted, or incomplete (no results yet)
    metrics: dict[str, float] = field(default_factory=dict)
    epochs: int | None = None
    wall_time_s: float | None = None
    error: str | None = None
    evaluation: dict[str, float] = field(default_factory=dict)  # by EVALUATION_COLUMNS name

    def metric(self, name: str) -> float:
        return self.metrics.get(name, self.evaluation.get(name, math.nan))


def parse_overrides(lines: list[str]) -> dict[str, Any]:
    """`["kl_weight=1e-4", "digits=[1,8]"]` -> `{"kl_weight": 0.0001, "digits": [1, 8]}`."""
    parsed = OverridesParser.create().parse_overrides(lines)
    return {o.key_or_group: o.value() for o in parsed}


def read_job(folder: Path) -> JobResult | None:
    """The job in `folder`, or None if the folder is not a job of a sweep."""
    hydra_dir = folder / ".hydra"
    if not (hydra_dir / "overrides.yaml").is_file():
        return None
    overrides = parse_overrides(yaml.safe_load((hydra_dir / "overrides.yaml").read_text()) or [])
    hydra_cfg = yaml.safe_load((hydra_dir / "hydra.yaml").read_text())["hydra"]
    number = int(hydra_cfg["job"].get("num", 0))
    results = folder / RESULTS_FILE
    if not results.is_file():
        return JobResult(folder, number, overrides, status="incomplete")
    record = json.loads(results.read_text())
    return JobResult(
        folder=folder,
        number=number,
        overrides=overrides,
        status=record.get("status", "unknown"),
        metrics={k: float(v) for k, v in record.get("metrics", {}).items()},
        epochs=record.get("epochs"),
        wall_time_s=record.get("wall_time_s"),
        error=record.get("error"),
        evaluation=read_evaluation(folder),
    )


def read_evaluation(folder: Path) -> dict[str, float]:
    """The figures of the newest `vae-exp-evaluate` result in `folder`; {} if it has none."""
    stem, suffix = Path(EVALUATION_FILE).stem, Path(EVALUATION_FILE).suffix
    found = sorted(folder.glob(f"{stem}*{suffix}"), key=lambda p: p.stat().st_mtime)
    if not found:
        return {}
    result = json.loads(found[-1].read_text())
    values = {}
    for column, key in EVALUATION_COLUMNS.items():
        value = result.get(key)
        value = value.get("mean") if isinstance(value, dict) else value
        if value is not None:
            values[column] = float(value)
    return values


def read_sweep(sweep_dir: str | Path) -> list[JobResult]:
    """Every job folder directly inside `sweep_dir`, in job order; refuses a folder with none."""
    folder = Path(sweep_dir)
    if not folder.is_dir():
        raise UserError(f"no sweep folder at {folder}")
    jobs = [job for child in sorted(folder.iterdir()) if (job := read_job(child)) is not None]
    if not jobs:
        raise UserError(f"{folder} holds no job folders of a sweep, so nothing was written there")
    return sorted(jobs, key=lambda job: job.number)


def swept_settings(jobs: list[JobResult]) -> list[str]:
    """The overridden settings whose value differs between jobs (all of them for one job)."""
    keys: list[str] = []
    for job in jobs:
        keys += [k for k in job.overrides if k not in keys]
    if len(jobs) <= 1:
        return keys
    return [k for k in keys if len({repr(job.overrides.get(k)) for job in jobs}) > 1]
