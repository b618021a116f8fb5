"""Every `vae-exp-train` command line shown in the README and the docs composes as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser

from vae_exp.pipeline.checks import check_train_config
from vae_exp.pipeline.resolvers import CONFIG_PACKAGE, register_resolvers

from conftest import CHECKOUT

PAGES = [CHECKOUT / "README.md", *sorted((CHECKOUT / "docs").glob("*.md"))]
FENCE = re.compile(r"```bash\n(.*?)```", re.DOTALL)
# Flags that choose what the command does, not what it composes (-m sweeps the same config).
FLAGS_WITHOUT_VALUE = {"-m", "--multirun", "--help", "-h"}
FLAGS_WITH_VALUE = {"--cfg", "-c", "-sc", "--shell-completion"}


def documented_commands() -> list[str]:
    found = []
    for page in PAGES:
        for block in FENCE.findall(page.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.strip()
                if not line.startswith("vae-exp-train") or re.search(r"<|\.\.\.|resume=", line):
                    continue  # a placeholder, a diagram, or a run folder of the reader's own
                found.append(line)
    return found


def compose_arguments(arguments: list[str]) -> tuple[list[str], Path | None]:
    """The overrides (a sweep's first value of each) and the config folder of a command line."""
    overrides, config_dir, rest = [], None, iter(arguments)
    for argument in rest:
        if argument in FLAGS_WITHOUT_VALUE:
            continue
        if argument in FLAGS_WITH_VALUE:
            next(rest)
        elif argument == "--config-dir":
            config_dir = CHECKOUT / "examples" / next(rest)  # the docs run it from examples/
        else:
            overrides.append(argument)
    chosen = []
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.is_interval_sweep():  # a search draws from it: compose at its start
            chosen.append(f"{override.get_key_element()}={override.value().start}")
        elif override.is_sweep_override():
            value = next(override.sweep_string_iterator())
            chosen.append(f"{override.get_key_element()}={value}")
        else:
            chosen.append(override.input_line)
    return chosen, config_dir


@pytest.mark.slow  # composes and checks about 60 command lines: 20 s
def test_every_documented_command_composes_and_passes_the_checks(monkeypatch):
    monkeypatch.syspath_prepend(str(CHECKOUT / "examples"))  # as from examples/, like the docs
    lines = documented_commands()
    assert len(lines) > 30
    register_resolvers()
    failures = []
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module=CONFIG_PACKAGE, version_base="1.3"):
        composed: set[tuple[str, ...]] = set()
        for line in lines:
            overrides, config_dir = compose_arguments(shlex.split(line, comments=True)[1:])
            if (key := (*overrides, str(config_dir))) in composed:
                continue  # the same settings, shown on another page
            composed.add(key)
            if config_dir is not None:
                overrides.append(f"hydra.searchpath=[file://{config_dir}]")
            try:
                cfg = compose(config_name="train", overrides=overrides)
                if "tracking_uri=http" not in line:  # a server of the reader's own is probed
                    check_train_config(cfg, on_this_machine=False)
            except Exception as error:
                failures.append(f"{line}\n    {type(error).__name__}: {error}")
    assert not failures, "\n".join(failures)
