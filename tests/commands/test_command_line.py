"""The command line answers without the training machinery: `--help`, `--cfg`, completion and
refused arguments import neither PyTorch nor Lightning (timing is `benchmarks/cli_latency.py`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "pytorch_lightning", "matplotlib")


def _imported(*arguments: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COMP_LINE": "vae-exp-train kl"},
    )
    modules = {
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line
    }
    return result, modules


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (("vae_exp.train", "--help"), "Public settings"),
        (("vae_exp.train", "--cfg", "job"), "kl_weight: 0.0005"),
        (("vae_exp.train", "-sc", "query=bash"), "kl_weight="),
        (("vae_exp.explore", "--help"), "vae-exp-explore"),
        (("vae_exp.evaluate", "--help"), "vae-exp-evaluate"),
    ],
)
def test_answers_import_no_training_machinery(arguments, expected):
    result, modules = _imported(*arguments)
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected in result.stdout
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_a_refused_argument_imports_no_training_machinery():
    result, modules = _imported("vae_exp.train", "no_such_setting=1")
    assert result.returncode == 1
    assert "Could not override 'no_such_setting'" in result.stderr
    assert not modules & set(HEAVY)
