"""Every `vae-exp-train` command line shown in the README and the docs composes as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

import vae_exp
from vae_exp.pipeline.checks import check_train_config

from conftest import CHECKOUT

PAGES = [CHECKOUT / "README.md", *sorted((CHECKOUT / "docs").glob("*.md"))]
FENCE = re.compile(r"```bash\n(.*?)```", re.DOTALL)
# Flags that choose what the command does, not what it composes (-m sweeps the same config).
FLAGS_WITHOUT_VALUE = {"-m", "--multirun", "--help", "-h"}
FLAGS_WITH_VALUE = {"--cfg", "-c", "-sc", "--shell-completion"}


def documented_commands() -> list[pytest.param]:
    found = []
    for page in PAGES:
        for block in FENCE.findall(page.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.strip()
                if not line.startswith("vae-exp-train") or re.search(r"<|\.\.\.|resume=", line):
                    continue  # a placeholder, a diagram, or a run folder of the reader's own
                found.append(pytest.param(line, id=f"{page.name}: {line[:70]}"))
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
        if override.is_sweep_override():
            value = next(override.sweep_string_iterator())
            chosen.append(f"{override.get_key_element()}={value}")
        else:
            chosen.append(override.input_line)
    return chosen, config_dir


def test_the_pages_show_commands():
    assert len(documented_commands()) > 30


@pytest.mark.parametrize("line", documented_commands())
def test_a_documented_command_composes_and_passes_the_checks(line):
    overrides, config_dir = compose_arguments(shlex.split(line, comments=True)[1:])
    cfg = vae_exp.compose(overrides, config_dir=config_dir)
    if "tracking_uri=http" not in line:  # a tracking server of the reader's own is probed
        check_train_config(cfg, on_this_machine=False)
