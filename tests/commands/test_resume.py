"""Interrupting a run with a signal and resuming it gives the uninterrupted run's result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ctrl_c_delivered

# Long enough epochs (50 batches of the packaged sample) to be interrupted mid-run.
RUN = (
    "data.source=sample",
    "trainer.max_epochs=4",
    "trainer.limit_train_batches=40",
    "trainer.limit_val_batches=4",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "logger=[tensorboard,csv]",
)


def _env(outputs: Path) -> dict[str, str]:
    return {
        **os.environ,
        "VAE_EXP_OUTPUT_DIR": str(outputs),
        "VAE_EXP_DATA_DIR": str(outputs / "no_data"),
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "PYTHONUNBUFFERED": "1",
    }


def _train(outputs: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vae_exp.train", *args],
        capture_output=True,
        text=True,
        env=_env(outputs),
        timeout=300,
    )


def _results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    outputs = tmp_path_factory.mktemp("uninterrupted")
    result = _train(outputs, *RUN)
    assert result.returncode == 0, result.stderr
    run_dir = next((outputs / "runs").iterdir())
    return {**_results(run_dir), "metrics.csv": (run_dir / "metrics.csv").read_text()}


def _interrupt_after_first_epoch(
    outputs: Path, signum: int, choices: tuple[str, ...] = ()
) -> tuple[Path, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "vae_exp.train", *RUN, *choices],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(outputs),
        preexec_fn=ctrl_c_delivered,
    )
    deadline = time.monotonic() + 120
    while not list(outputs.glob("runs/*/checkpoints/last.ckpt")):
        assert process.poll() is None and time.monotonic() < deadline, "run ended too early"
        time.sleep(0.1)
    time.sleep(0.3)  # into the second epoch
    process.send_signal(signum)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    return next((outputs / "runs").iterdir()), output


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, uninterrupted, signum):
    run_dir, output = _interrupt_after_first_epoch(tmp_path, signum)
    assert f"Resume with: vae-exp-train resume={run_dir}" in output
    assert (run_dir / "checkpoints" / "interrupted.ckpt").is_file()
    assert _results(run_dir)["status"] == "interrupted"

    resumed = _train(tmp_path, f"resume={run_dir}", "trainer.enable_progress_bar=false")
    assert resumed.returncode == 0, resumed.stderr
    record = _results(run_dir)
    assert record["status"] == "completed" and record["epochs"] == 4
    # Weights, optimizer state and the random state all travel in the checkpoint, so every
    # shuffle and every sample after the resume repeats those of the uninterrupted run.
    for name in ("val/loss", "val/neg_elbo", "train/loss"):
        assert record["metrics"][name] == uninterrupted["metrics"][name], name
    assert list(run_dir.glob(".hydra/resume-*/config.yaml"))  # the original .hydra/ is kept
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 2  # curves continue in the run
    # The epoch before the interruption stays, the interrupted one is written anew.
    assert (run_dir / "metrics.csv").read_text() == uninterrupted["metrics.csv"]


@pytest.mark.slow
def test_a_run_of_other_choices_resumes_to_the_same_result(tmp_path):
    choices = ("network=mlp", "likelihood=continuous_bernoulli", "conditional=true")
    choices += ("data.binarize=dynamic", "kl_warmup_epochs=2")
    straight = _train(tmp_path / "straight", *RUN, *choices)
    assert straight.returncode == 0, straight.stderr
    expected = _results(next((tmp_path / "straight" / "runs").iterdir()))

    run_dir, _ = _interrupt_after_first_epoch(tmp_path / "interrupted", signal.SIGTERM, choices)
    resumed = _train(tmp_path / "interrupted", f"resume={run_dir}")
    assert resumed.returncode == 0, resumed.stderr
    record = _results(run_dir)
    assert record["status"] == "completed"
    for name in ("val/loss", "val/neg_elbo", "train/loss", "train/kl_coefficient"):
        assert record["metrics"][name] == expected["metrics"][name], name


@pytest.mark.slow
def test_more_epochs_are_allowed_other_changes_refused(tmp_path):
    run_dir, _ = _interrupt_after_first_epoch(tmp_path, signal.SIGTERM)
    refused = _train(tmp_path, f"resume={run_dir}", "kl_weight=1e-3")
    assert refused.returncode == 2
    assert "would change the experiment: kl_weight (run: 0.0005, asked: 0.001)" in refused.stderr
    assert not list(run_dir.glob(".hydra/resume-*"))
    longer = _train(tmp_path, f"resume={run_dir}", "trainer.max_epochs=5")
    assert longer.returncode == 0, longer.stderr
    assert _results(run_dir)["epochs"] == 5


def test_resume_of_a_folder_that_is_no_run(tmp_path):
    result = _train(tmp_path, f"resume={tmp_path / 'missing'}")
    assert result.returncode == 2 and "is not a vae-exp run folder" in result.stderr
    assert not (tmp_path / "missing").exists()
