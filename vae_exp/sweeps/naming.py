"""Names of sweep job folders: the swept settings alone, e.g. `kl_weight=0.0001,latent_dim=2`.

Hydra's `override_dirname` lists every command-line override, so settings held
fixed across a sweep (`trainer.max_epochs=5`) would lengthen every name. A
setting counts as swept if the command line gave it several values (read back
from the sweep's `multirun.yaml`) or a sweeper searches it (`hydra.sweeper.params`).
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf

from vae_exp.sweeps.kinds import is_search

_PARSER = OverridesParser.create()


def _sweep_keys(sweep_dir: str, root: DictConfig) -> set[str]:
    keys = set(OmegaConf.select(root, "hydra.sweeper.params", default=None) or {})
    master = Path(sweep_dir) / "multirun.yaml"
    if master.is_file():
        task = OmegaConf.load(master).hydra.overrides.task
        keys |= {
            o.key_or_group for o in _PARSER.parse_overrides(list(task)) if o.is_sweep_override()
        }
    return keys


def _short(override: Override) -> str:
    """Floats with 4 significant digits (0.006149619971126093 -> 0.00615); the rest as given."""
    value = override.value()
    if isinstance(value, float):
        return f"{value:.4g}"
    return override.get_value_element_as_str()


def job_name(sweep_dir: str, job_number: int, _root_: DictConfig) -> str:
    """The folder name of a sweep job; `job<N>` when it has no overrides; `trial_0007` for a
    search's trial, numbered by its study, whichever worker ran it.

    Two jobs whose names coincide (rounded floats, repeated values) still get
    separate folders: the folder is claimed with `vae_exp.runs.locations.claim_fresh_dir`.
    """
    if is_search(OmegaConf.select(_root_, "hydra.sweeper")):
        return trial_folder(job_number)
    overrides = _PARSER.parse_overrides(list(_root_.hydra.overrides.task))
    keys = _sweep_keys(sweep_dir, _root_)
    chosen = [o for o in overrides if o.key_or_group in keys] or overrides
    exclude = set(_root_.hydra.job.config.override_dirname.exclude_keys)
    parts = [
        f"{o.key_or_group}={_short(o)}"
        for o in sorted(chosen, key=lambda o: o.key_or_group)
        if o.key_or_group not in exclude
    ]
    return ",".join(parts).replace("/", "_") or f"job{job_number}"


def trial_folder(number: int) -> str:
    """The job folder of a search's trial `number`: `trial_0007`, whichever worker ran it."""
    return f"trial_{int(number):04d}"
