"""`--help` is answered from the composed config, word for word as Hydra's own `--help`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import CHECKOUT

HYDRAS_OWN_HELP = """
from vae_exp.cli.command import hydra_app
from vae_exp.cli.startup import prepare_process
from vae_exp.cli.{tool} import run
prepare_process()
hydra_app("{tool}", run)
"""


def _output(arguments: list[str], cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("train", ["--help"]),
        ("train", ["kl_weight=1e-3", "optimizer=adam", "--help"]),
        ("train", ["--help", "--config-dir", "my_configs", "experiment=mine"]),
        ("explore", ["--help"]),
        ("evaluate", ["--help", "num_samples=7"]),
        ("export", ["--help", "format=torchscript"]),
    ],
)
def test_help_is_hydras_own(tool, arguments):
    examples = CHECKOUT / "examples"
    ours = _output(["-m", f"vae_exp.{tool}", *arguments], examples)
    hydras = _output(["-c", HYDRAS_OWN_HELP.format(tool=tool), *arguments], examples)
    assert ours.returncode == hydras.returncode == 0, ours.stderr + hydras.stderr
    assert ours.stdout == hydras.stdout
    if "experiment=mine" in arguments:  # the user's preset, from their own config folder
        assert "latent_dim=2" in ours.stdout


def test_help_with_a_refused_override_names_it_without_a_traceback(tmp_path):
    result = _output(["-m", "vae_exp.train", "--help", "no_such_setting=1"], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error: Could not override 'no_such_setting'" in result.stderr
    assert "+no_such_setting=1" in result.stderr
