"""vae-exp's `hydra/launcher=joblib`: Hydra finds launchers only in the `hydra_plugins` package.

Hydra imports every module of that package when any Hydra command starts, so
this one stays small: the launcher's work is in `vae_exp.sweeps.launcher`.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra.core.utils import JobReturn

try:  # the [sweeps] extra
    from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
except ImportError:  # pragma: no cover - without the extra, hydra/launcher=joblib is refused
    from hydra.plugins.launcher import Launcher as JoblibLauncher


class IsolatedJoblibLauncher(JoblibLauncher):
    """`n_jobs` jobs at a time, each in a process of its own (`vae_exp.sweeps.launcher`).

    Takes the settings of Hydra's joblib launcher plugin, so that its configs keep working.
    """

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from vae_exp.sweeps.launcher import launch

        return launch(self, job_overrides, initial_job_idx)
