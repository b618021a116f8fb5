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
    """Hydra's joblib launcher with every job in a process of its own (`vae_exp.sweeps.launcher`).

    Takes every setting of the joblib launcher plugin (`n_jobs`, ...).
    """

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from vae_exp.sweeps.launcher import launch

        return launch(self, job_overrides, initial_job_idx)
