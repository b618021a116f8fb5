"""Reads the jobs of a sweep folder: their swept settings and what their runs recorded."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import ListConfig, OmegaConf

from vae_exp.foundation.errors import UserError
from vae_exp.models.metrics import EVALUATION_COLUMNS
from vae_exp.runs.claims import is_locked
from vae_exp.runs.layout import EVALUATION_FILE, RESULTS_FILE, TRIAL_PRUNING_CALLBACK
from vae_exp.runs.record import RUNNING, DamagedRecord, read_json_record, read_yaml_record
from vae_exp.sweeps.plan import planned_jobs


@dataclass
class JobResult:
    """One job of a sweep, as its folder tells it."""

    folder: Path
    number: int
    overrides: dict[str, Any]
    status: str  # completed, failed, interrupted, running, or incomplete (no results yet)
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
    """The job in `folder`, or None if the folder is not a job of a sweep.

    A job whose record says it is running while no process holds its lock has
    died without finishing its record (SIGKILL, the out-of-memory killer): it
    is shown as failed.
    """
    hydra_dir = folder / ".hydra"
    if not (hydra_dir / "overrides.yaml").is_file():
        return None
    listed = read_yaml_record(hydra_dir / "overrides.yaml")
    if not isinstance(listed, ListConfig):
        raise DamagedRecord(f"{hydra_dir / 'overrides.yaml'} is not a list of overrides")
    overrides = _parsed(list(listed), hydra_dir / "overrides.yaml")
    hydra_cfg = read_yaml_record(hydra_dir / "hydra.yaml")
    number = OmegaConf.select(hydra_cfg, "hydra.job.num", default=0)
    if not isinstance(number, int):
        raise DamagedRecord(f"{hydra_dir / 'hydra.yaml'} gives no job number ({number!r})")
    results = folder / RESULTS_FILE
    if not results.is_file():
        return JobResult(folder, number, overrides, status="incomplete")
    record = read_json_record(results)
    status, error = record.get("status", "unknown"), record.get("error")
    if status == RUNNING and not is_locked(folder):
        status, error = "failed", "the job's process ended before it finished (killed?)"
    return JobResult(
        folder=folder,
        number=number,
        overrides=overrides,
        status=status,
        metrics=_numbers(record.get("metrics", {}), results),
        epochs=record.get("epochs"),
        wall_time_s=record.get("wall_time_s"),
        error=error,
        evaluation=read_evaluation(folder),
    )


def _parsed(lines: list[object], source: Path) -> dict[str, Any]:
    try:
        return parse_overrides([str(line) for line in lines])
    except Exception as error:
        raise DamagedRecord(f"{source} holds an override that cannot be read: {error}") from None


def _numbers(metrics: object, source: Path) -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in dict(metrics).items()}
    except (TypeError, ValueError) as error:
        raise DamagedRecord(f"{source} holds metrics that are not numbers: {error}") from None


def never_started(folder: Path, started: list[JobResult]) -> list[JobResult]:
    """The jobs of the sweep's plan that have no folder: they never started."""
    plan = planned_jobs(folder) or []
    numbers = {job.number for job in started}
    return [
        JobResult(
            folder / f"job{number} (not started)",
            number,
            parse_overrides(overrides),
            status="incomplete",
            error="never started",
        )
        for number, overrides in enumerate(plan)
        if number not in numbers
    ]


def read_evaluation(folder: Path) -> dict[str, float]:
    """The figures of the newest `vae-exp-evaluate` result in `folder`; {} if it has none."""
    stem, suffix = Path(EVALUATION_FILE).stem, Path(EVALUATION_FILE).suffix
    found = sorted(folder.glob(f"{stem}*{suffix}"), key=lambda p: p.stat().st_mtime)
    if not found:
        return {}
    result = read_json_record(found[-1])
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
    return sorted(jobs + never_started(folder, jobs), key=lambda job: job.number)


def _is_bookkeeping(key: str) -> bool:
    """A search's own override (a trial's number for its pruning callback), not a setting."""
    return key.lstrip("+").startswith(f"callbacks.{TRIAL_PRUNING_CALLBACK}.")


def swept_settings(jobs: list[JobResult]) -> list[str]:
    """The overridden settings whose value differs between jobs (all of them for one job)."""
    keys: list[str] = []
    for job in jobs:
        keys += [k for k in job.overrides if k not in keys and not _is_bookkeeping(k)]
    if len(jobs) <= 1:
        return keys
    return [k for k in keys if len({repr(job.overrides.get(k)) for job in jobs}) > 1]
