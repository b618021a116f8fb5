"""The package as users meet it: the console commands, shell completion, the Python API,
a user's own configs and classes, and imports that change nothing global."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

import vae_exp
from vae_exp.foundation.errors import ConfigError

from conftest import CHECKOUT, TINY_RUN

BIN = Path(sys.executable).parent
EXAMPLES = CHECKOUT / "examples"


def _command(name: str, *args: str, cwd: Path, env: dict | None = None):
    return subprocess.run(
        [str(BIN / name), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_importing_vae_exp_changes_nothing_global(tmp_path):
    # Third-party libraries install warning filters of their own: import them first.
    code = textwrap.dedent(
        """
        import importlib, logging, os, pkgutil, sys, warnings
        import hydra, matplotlib, omegaconf, pytorch_lightning, tensorboard, torch, torchvision
        from omegaconf import OmegaConf

        def state():
            return (
                list(warnings.filters),
                {name: (list(log.handlers), list(log.filters), log.level)
                 for name, log in logging.Logger.manager.loggerDict.items()
                 if isinstance(log, logging.Logger)},
                list(logging.getLogger().handlers),
                sorted(os.listdir(".")),
                list(sys.path),
            )

        before = state()
        import vae_exp
        for module in pkgutil.walk_packages(vae_exp.__path__, "vae_exp."):
            importlib.import_module(module.name)
        after = state()
        for i, name in enumerate(("warning filters", "", "root handlers", "files", "sys.path")):
            if name:
                assert before[i] == after[i], f"{name} changed"
        changed = [n for n, v in before[1].items() if after[1].get(n) != v]
        assert not changed, f"loggers changed: {changed}"
        assert not any(OmegaConf.has_resolver(r) for r in ("vae_exp.run_dir", "vae_exp.absolute"))
        print("unchanged")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "unchanged" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_help_lists_the_public_settings_and_real_choices(tmp_path):
    result = _command("vae-exp-train", "--help", "kl_weight=1e-3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("vae-exp-train: train a variational autoencoder")
    # The values are those of the composed config: the command line's where it set them.
    assert "kl_weight=0.001\n" in text and "latent_dim=4\n" in text
    assert "optimizer:       adam, adamw, rmsprop, sgd" in text
    presets = "all_digits, beta_vae, blog, iwae_binarized, latent_2d, vae_binarized"
    assert f"experiment:      {presets}" in text
    assert "likelihood:      bernoulli, continuous_bernoulli, gaussian" in text
    assert "objective:       elbo, iwae" in text and "network:         conv, conv64, mlp" in text
    sets = "celeba, cifar10, dsprites, fashion_mnist, image_folder, kmnist, mnist, shapes3d"
    assert f"data:            {sets}" in text
    assert f"paths.output_root={tmp_path / 'outputs'}" in text
    assert list(tmp_path.iterdir()) == []  # asking for help writes nothing


@pytest.mark.parametrize(
    "tool",
    [
        pytest.param("vae-exp-explore", marks=pytest.mark.slow),
        pytest.param("vae-exp-evaluate", marks=pytest.mark.slow),
        pytest.param("vae-exp-export", marks=pytest.mark.slow),
        "vae-exp-summarize",
    ],
)
def test_each_tool_has_its_own_help(tool, tmp_path):
    result = _command(tool, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert tool in result.stdout and "Hydra" not in result.stdout


@pytest.mark.slow
def test_bash_completion_offers_settings(tmp_path):
    script = textwrap.dedent(
        """
        eval "$(vae-exp-train -sc install=bash)"
        COMP_LINE="vae-exp-train kl" COMP_POINT=16 COMP_WORDS=(vae-exp-train kl) COMP_CWORD=1
        hydra_bash_completion
        printf '%s\\n' "${COMPREPLY[@]}"
        """
    )
    env = {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["kl_warmup_epochs=", "kl_weight="]


def test_python_api_composes_fits_and_loads(small_mnist_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = vae_exp.compose([f"data.data_dir={small_mnist_dir}", "latent_dim=3", *TINY_RUN])
    assert OmegaConf.is_missing(cfg.paths, "run_dir")
    assert cfg.paths.output_root == str(tmp_path / "outputs")
    handlers = list(logging.getLogger().handlers)

    record = vae_exp.fit(cfg)

    run_dir = Path(record["run_dir"])
    assert run_dir.parent == tmp_path / "outputs" / "runs"
    assert record["status"] == "completed" and record["epochs"] == 1
    assert "Epoch 1/1" in (run_dir / "train.log").read_text()
    assert logging.getLogger().handlers == handlers  # the log file is detached again
    run = vae_exp.load_run(run_dir)
    assert run.folder == run_dir and run.config.latent_dim == 3
    assert run.results["metrics"] == record["metrics"]
    assert not run.model.training and run.model.device == torch.device("cpu")
    assert run.model.decode(torch.zeros(2, 3)).shape == (2, 1, 28, 28)


def test_python_api_refuses_bad_settings_before_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="latent_dim=0 is not allowed"):
        vae_exp.fit(vae_exp.compose(["latent_dim=0"]))
    assert not (tmp_path / "outputs").exists()  # checked before any folder is made


def test_a_checkpoint_cannot_name_a_function_to_call(tmp_path):
    from vae_exp.foundation.trust import UntrustedTarget
    from vae_exp.models import VAE

    with pytest.raises(UntrustedTarget, match=r"'os.system' is not allowed: .* not a class"):
        VAE(encoder={"_target_": "os.system", "command": "echo owned"})
    with pytest.raises(UntrustedTarget, match=r"is not allowed: a subclass of torch\.nn"):
        VAE(encoder={"_target_": "collections.OrderedDict"})


def test_user_preset_and_network_through_the_api(small_mnist_dir, tmp_path, monkeypatch):
    work = tmp_path / "work"
    shutil.copytree(EXAMPLES, work)
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(work)  # as a notebook beside my_networks.py
    cfg = vae_exp.compose(
        ["experiment=mine", f"data.data_dir={small_mnist_dir}", *TINY_RUN],
        config_dir=work / "my_configs",
    )
    run = vae_exp.load_run(vae_exp.fit(cfg)["run_dir"])
    assert type(run.model.encoder).__name__ == "SmallMLPEncoder"
    assert run.config.latent_dim == 2 and list(run.config.digits) == [0, 1, 8]


@pytest.mark.slow
def test_user_preset_and_network_from_their_own_folder(small_mnist_dir, tmp_path, monkeypatch):
    work = tmp_path / "work"
    shutil.copytree(EXAMPLES, work)
    result = _command(
        "vae-exp-train",
        "--config-dir",
        "my_configs",
        "experiment=mine",
        *TINY_RUN,
        cwd=work,
        env={"VAE_EXP_DATA_DIR": str(small_mnist_dir)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (work / "outputs" / "runs").iterdir()
    explored = _command("vae-exp-explore", f"run={run_dir}", "z=[0,1]", cwd=work)
    assert explored.returncode == 0, explored.stderr[-3000:]
    assert (run_dir / "figures" / "z_0_1.png").is_file()
    monkeypatch.syspath_prepend(work)  # as a notebook beside my_networks.py
    run = vae_exp.load_run(run_dir)
    assert type(run.model.encoder).__name__ == "SmallMLPEncoder"
    assert run.config.latent_dim == 2 and list(run.config.digits) == [0, 1, 8]
    assert (run_dir / "figures" / "latent_grid_0_1.png").is_file()


def test_tensorboard_hint_names_a_folder_that_holds_the_run(tmp_path):
    from vae_exp.runs.locations import tensorboard_logdir

    root = tmp_path / "outputs"
    assert tensorboard_logdir(root / "runs" / "a", root) == str(root)
    # A run placed elsewhere (hydra.run.dir=...) is shown from its own folder.
    assert tensorboard_logdir(tmp_path / "elsewhere", root) == str(tmp_path / "elsewhere")


def test_the_sweeps_extra_brings_a_current_optuna():
    """`pip install ".[sweeps]"` (here through `[dev]`) resolved Optuna 4 or 5, not 2.10."""
    from importlib import metadata

    from packaging.requirements import Requirement

    wanted = [Requirement(line) for line in metadata.requires("vae-exp") or []]
    sweeps = {r.name: r for r in wanted if r.marker and r.marker.evaluate({"extra": "sweeps"})}
    assert "hydra-optuna-sweeper" not in sweeps  # it pins optuna < 3
    assert sweeps["optuna"].specifier.contains("5.0.0")
    assert not sweeps["optuna"].specifier.contains("3.6.1")
    installed = metadata.version("optuna")
    assert sweeps["optuna"].specifier.contains(installed), installed
