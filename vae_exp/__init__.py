"""vae-exp: configuration-driven experiments with variational autoencoders.

The Python API (see `vae_exp.api`):

    >>> import vae_exp
    >>> cfg = vae_exp.compose(["kl_weight=1e-3"])
    >>> record = vae_exp.fit(cfg)
    >>> run = vae_exp.load_run(record["run_dir"])
    >>> figures = vae_exp.evaluate(run, num_samples=500)

The API is imported on first use, so that importing a part of the package
(`vae_exp.data`, say) does not import the training machinery. (`vae_exp.evaluate`
and `vae_exp.export` are functions; `python -m vae_exp.evaluate` and
`python -m vae_exp.export` run the commands of those names.)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Run", "UserError", "__version__", "compose", "evaluate", "export", "fit", "load_run"]
_API = ("Run", "compose", "evaluate", "export", "fit", "load_run")


def __getattr__(name: str) -> Any:
    if name == "UserError":  # what every refused setting raises
        from vae_exp.foundation.errors import UserError

        return UserError
    if name in _API:
        from vae_exp import api

        return getattr(api, name)
    raise AttributeError(f"module 'vae_exp' has no attribute {name!r}")
