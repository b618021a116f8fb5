"""A logger is one file: a logger class from a test module, with its adapter, works end to end
through the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import TINY_RUN

TESTS = Path(__file__).resolve().parents[1]
LOGGER = "helpers.recording_logger"


def _train(tmp_path: Path, data_dir: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VAE_EXP_OUTPUT_DIR": str(tmp_path / "outputs"),
        "VAE_EXP_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(TESTS),  # where the logger's module is, as a user's own module would be
    }
    command = [sys.executable, "-m", "vae_exp.train", *TINY_RUN, "trainer.max_epochs=2"]
    return subprocess.run(
        [*command, *overrides],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_logger_from_a_test_module_receives_scalars_and_pictures(tmp_path, small_mnist_dir):
    folder = tmp_path / "recorded"
    folder.mkdir()
    result = _train(
        tmp_path,
        small_mnist_dir,
        "logger=none",
        f"+logger.mine._target_={LOGGER}.RecordingLogger",
        f"+logger.mine.folder={folder}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Recording:    {folder / 'recorded.json'}" in result.stdout + result.stderr
    recorded = json.loads((folder / "recorded.json").read_text())
    assert recorded["status"] == "success"
    assert len(recorded["scalars"]["val/loss"]) == 2
    pictures = recorded["pictures"]
    assert {"images/reconstructions", "images/latent_traversal", "images/latent_grid/1_2"} <= set(
        pictures
    )
    steps = [p["step"] for p in pictures["images/latent_traversal"]]
    assert len(steps) >= 2 and steps == sorted(steps)  # one picture per validation epoch at least
    assert all(p["shape"][2] == 3 for series in pictures.values() for p in series)


def test_a_missing_package_of_a_logger_is_refused_before_training(tmp_path, small_mnist_dir):
    result = _train(
        tmp_path,
        small_mnist_dir,
        "logger=none",
        f"+logger.mine._target_={LOGGER}.RecordingLoggerOfAMissingPackage",
        f"+logger.mine.folder={tmp_path}",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in output
    assert (
        "logger=mine needs the a_package_that_is_not_installed package, which is not installed: "
        "pip install a-package-that-is-not-installed"
    ) in output
    assert not (tmp_path / "outputs").exists()
