"""What `hydra_plugins.vae_exp_sweeper.OptunaSweeper` does: check the search, then run it.

Every setting is checked before the first trial, and a bad one is refused in
one line that names it (exit status 2).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from vae_exp.foundation import atomic
from vae_exp.foundation.errors import UserError
from vae_exp.runs.layout import MULTIRUN_FILE
from vae_exp.sweeps.launcher import parallel_jobs
from vae_exp.sweeps.search import Search, run_search
from vae_exp.sweeps.search_space import SearchSpace, search_space
from vae_exp.sweeps.study import StudySettings, pruner

log = logging.getLogger(__name__)


def sweep(
    settings: dict[str, Any],
    config: DictConfig,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    arguments: list[str],
) -> None:
    """Run the search `config.hydra.sweeper` describes, with the command line's `arguments`."""
    try:
        search = _search(settings, config, hydra_context, task_function, arguments)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
    _save_sweep_config(config, search.sweep_dir)
    run_search(search)


def _search(
    settings: dict[str, Any],
    config: DictConfig,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    arguments: list[str],
) -> Search:
    # Hydra has built the sampler already (the sweeper's config is instantiated recursively).
    plain = {name: value for name, value in settings.items() if name != "sampler"}
    study_settings, space = _settings_and_space(OmegaConf.create(plain), arguments)
    if not space.searched:
        log.warning("The search space is empty: every trial runs the same settings")
    launcher = Plugins.instance().instantiate_launcher(
        hydra_context=hydra_context, task_function=task_function, config=config
    )
    launcher_cfg = OmegaConf.select(config, "hydra.launcher") or {}
    return Search(
        config=config,
        launcher=launcher,
        settings=study_settings,
        space=space,
        sampler=settings.get("sampler"),
        sweep_dir=Path(str(config.hydra.sweep.dir)),
        # The joblib launcher's n_jobs: that many workers, each running one trial at a time.
        workers=parallel_jobs(launcher_cfg["n_jobs"]) if "n_jobs" in launcher_cfg else 1,
    )


def check_search(config: DictConfig) -> None:
    """Refuse a search that cannot work (its settings, its space, its pruner) before any folder
    is made; raises ConfigError. Called by the command's Hydra callback as the sweep starts."""
    _settings_and_space(config.hydra.sweeper, list(config.hydra.overrides.task))


def _settings_and_space(
    sweeper: DictConfig, command_line: list[str]
) -> tuple[StudySettings, SearchSpace]:
    """The sweeper's settings, checked, and its search space with the command line's."""
    values = OmegaConf.to_container(sweeper, resolve=False)
    assert isinstance(values, dict)
    names = StudySettings.__dataclass_fields__
    chosen = {name: value for name, value in values.items() if name in names}
    settings = StudySettings(**{**chosen, "pruner_settings": values.get("pruner_settings") or {}})
    settings.check()
    pruner(settings.pruner, settings.pruner_settings)
    return settings, search_space(values.get("params"), command_line)


def _save_sweep_config(config: DictConfig, sweep_dir: Path) -> None:
    """The sweep's `multirun.yaml`, written by the study's first worker in this folder."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    path = sweep_dir / MULTIRUN_FILE
    if not path.exists():
        atomic.write_text(path, OmegaConf.to_yaml(config))
