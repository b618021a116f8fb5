"""What a command sets up for its process when it starts, and nothing does at import.

Warning filters, log filters, the config resolvers and the import path are
process-wide, so only a command's `main()` (or the Python API, per call)
changes them.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Sequence

from vae_exp.pipeline.resolvers import register_resolvers

CONFIG_PATH = "pkg://vae_exp.conf"


def _not_about_litlogger(record: logging.LogRecord) -> bool:
    return "litlogger" not in record.getMessage()


def quoted_paths(arguments: Sequence[str], settings: Sequence[str]) -> list[str]:
    """`run=a/kl_weight=0.1,latent_dim=2` -> `run='a/kl_weight=0.1,latent_dim=2'`.

    A sweep job's folder name holds `=` and `,`, which Hydra would read as
    override syntax; a path setting's value is always a path, so it is quoted.
    """
    quoted = []
    for argument in arguments:
        key, equals, value = argument.partition("=")
        if equals and key in settings and value and value[0] not in "'\"":
            value = "'" + value.replace("'", "\\'") + "'"
        quoted.append(f"{key}{equals}{value}" if equals else argument)
    return quoted


def prepare_process(path_settings: Sequence[str] = ()) -> None:
    """Set up this process for a vae-exp command whose `path_settings` take paths."""
    sys.argv[1:] = quoted_paths(sys.argv[1:], path_settings)
    register_resolvers()
    # The data sit in memory, so DataLoader workers would only add overhead.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # Lightning's model summary sizes bf16-mixed weights as 32-bit, which they are.
    warnings.filterwarnings("ignore", message=r".*is not supported by the model summary.*")
    # An internal deprecation inside Lightning itself, nothing a user can act on.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # hydra/launcher=joblib is vae-exp's own launcher config, named as the plugin's so that its
    # settings keep their names; Hydra checks it against the plugin's schema, which it matches.
    warnings.filterwarnings("ignore", message=r"\s*'hydra/launcher/joblib' is validated")
    # A log file that cannot be written (a full disk) must not bury the one-line error in
    # logging's own tracebacks; the console still shows every message.
    logging.raiseExceptions = False
    # Lightning's advertisement for its hosted logger.
    logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(_not_about_litlogger)
    # A `_target_` may name a class in the user's own module beside them, as with `python -m`.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
