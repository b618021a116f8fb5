"""The command line answers without the training machinery: `--help`, `--cfg`, completion and
refused arguments import neither PyTorch nor Lightning (timing is `benchmarks/cli_latency.py`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "pytorch_lightning", "matplotlib")


def _imported(*arguments: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    return _imported_with({}, *arguments)


def _imported_with(
    env: dict[str, str], *arguments: str, cwd=None
) -> tuple[subprocess.CompletedProcess, set[str]]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "COMP_LINE": "vae-exp-train kl", **env},
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


def test_a_repeated_answer_is_printed_again_without_hydra(tmp_path):
    env = {"VAE_EXP_CLI_CACHE": str(tmp_path / "answers")}
    first, first_modules = _imported_with(env, "vae_exp.train", "--cfg", "job", "kl_weight=0.01")
    again, again_modules = _imported_with(env, "vae_exp.train", "--cfg", "job", "kl_weight=0.01")
    assert first.returncode == again.returncode == 0, first.stderr[-2000:] + again.stderr[-2000:]
    assert "kl_weight: 0.01" in first.stdout and again.stdout == first.stdout
    assert "hydra" in first_modules and "hydra" not in again_modules
    other, other_modules = _imported_with(env, "vae_exp.train", "--cfg", "job", "kl_weight=0.02")
    assert "kl_weight: 0.02" in other.stdout and "hydra" in other_modules


def test_an_answer_follows_an_edited_config(tmp_path):
    presets = tmp_path / "my_configs" / "experiment"
    presets.mkdir(parents=True)
    preset = presets / "mine.yaml"
    env = {"VAE_EXP_CLI_CACHE": str(tmp_path / "answers")}
    arguments = ("vae_exp.train", "--cfg", "job", "--config-dir", "my_configs", "experiment=mine")
    answers = []
    for latent_dim in (2, 3):
        preset.write_text(f"# @package _global_\nlatent_dim: {latent_dim}\n")
        result, _ = _imported_with(env, *arguments, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        answers.append(result.stdout)
    assert "latent_dim: 2" in answers[0] and "latent_dim: 3" in answers[1]


def test_a_refusal_is_not_kept_and_an_unwritable_cache_is_no_error(tmp_path):
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")
    for cache in (tmp_path / "answers", blocked):
        for _ in range(2):
            refused, modules = _imported_with(
                {"VAE_EXP_CLI_CACHE": str(cache)}, "vae_exp.train", "--cfg", "job", "oops=1"
            )
            assert refused.returncode == 1 and "Could not override 'oops'" in refused.stderr
            assert "hydra" in modules  # composed each time: a refusal is never replayed
    answered, _ = _imported_with({"VAE_EXP_CLI_CACHE": str(blocked)}, "vae_exp.train", "--help")
    assert answered.returncode == 0 and "Public settings" in answered.stdout
    assert not list((tmp_path / "answers").glob("*"))
