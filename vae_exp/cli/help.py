"""`--help` answered from the composed config alone.

Hydra's own `--help` lists every config group and option of the search path
before it fills the template, twice, although vae-exp's templates list their
groups themselves (`${vae_exp.choices:...}`): that listing is three quarters
of the time `--help` takes. Here the config is composed once, with the
command line's overrides and `--config-dir`, and the template is printed as
Hydra prints it. Any other flag beside `--help` is left to Hydra.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException

from vae_exp.cli.answers import CONFIG_DIR_FLAGS, HELP_FLAGS
from vae_exp.pipeline.resolvers import CONFIG_PACKAGE


def help_request(arguments: Sequence[str]) -> tuple[list[str], str | None] | None:
    """(overrides, config dir) when `arguments` ask for `--help` alone; None otherwise."""
    if not any(argument in HELP_FLAGS for argument in arguments):
        return None
    overrides: list[str] = []
    config_dir = None
    rest = iter(arguments)
    for argument in rest:
        if argument in HELP_FLAGS:
            continue
        flag, equals, value = argument.partition("=")
        if flag in CONFIG_DIR_FLAGS:
            config_dir = value if equals else next(rest, None)
            if config_dir is None:
                return None
        elif argument.startswith("-"):
            return None  # another Hydra flag: Hydra answers
        else:
            overrides.append(argument)
    return overrides, config_dir


def help_text(config_name: str, overrides: Sequence[str], config_dir: str | None = None) -> str:
    """The command's `--help`: its template, with the values that `overrides` give."""
    search = [f"hydra.searchpath=[file://{Path(config_dir).absolute()}]"] if config_dir else []
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module=CONFIG_PACKAGE, version_base="1.3"):
        cfg = compose(config_name, [*overrides, *search], return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        return string.Template(cfg.hydra.help.template).substitute()


def answer_help(config_name: str, arguments: Sequence[str]) -> bool:
    """Print `--help` and return True if that is all `arguments` ask; else leave it to Hydra."""
    request = help_request(arguments)
    if request is None:
        return False
    try:
        text = help_text(config_name, *request)
    except HydraException as error:  # an override Hydra refuses, in Hydra's own words
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    print(text)
    return True
