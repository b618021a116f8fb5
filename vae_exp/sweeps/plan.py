"""The jobs a sweep was asked to run, read back from its `multirun.yaml`.

A sweep stopped early (Ctrl-C, a launcher that died) has folders only for the
jobs that started; the summary still lists every job of the sweep, so the ones
that never started are shown as such. Only a grid sweep (Hydra's basic
sweeper) has a list of jobs fixed in advance: a search decides its trials as
it goes.
"""

from __future__ import annotations

from pathlib import Path

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from vae_exp.runs.record import DamagedRecord, read_yaml_record
from vae_exp.sweeps.kinds import is_search

MULTIRUN_FILE = "multirun.yaml"


def planned_jobs(sweep_dir: Path) -> list[list[str]] | None:
    """Each job's overrides, in job order; None where the sweep has no fixed list of jobs."""
    path = Path(sweep_dir) / MULTIRUN_FILE
    if not path.is_file():
        return None
    config = read_yaml_record(path)
    hydra = OmegaConf.select(config, "hydra", default=None)
    if hydra is None or is_search(hydra.get("sweeper")):
        return None
    try:
        task = [str(o) for o in OmegaConf.to_container(hydra.overrides.task)]
        params = hydra.sweeper.get("params") or {}
        arguments = [f"{key}={value}" for key, value in params.items()] + task
        overrides = OverridesParser.create().parse_overrides(arguments)
    except Exception as error:  # a hand-edited or foreign file
        raise DamagedRecord(f"{path} does not describe a sweep's jobs: {error}") from None
    batches = BasicSweeper.split_arguments(overrides, None)
    return [list(job) for batch in batches for job in batch]
