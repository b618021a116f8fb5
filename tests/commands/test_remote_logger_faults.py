"""A tracking server that is down, or goes away mid-run, never costs the run its local results.

Each test starts a real MLflow server on 127.0.0.1 and faults it for real: no server on the
port, the server killed, or stopped (SIGSTOP: it still accepts connections, never answers).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from pathlib import Path

import pytest
from helpers.commands import wait_for

from conftest import TINY_RUN, free_port

HELPERS = "helpers.fault_callbacks"
TESTS = Path(__file__).resolve().parents[1]


def _runs(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "outputs" / "runs"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def test_a_server_that_cannot_be_reached_is_refused_before_any_folder(run_cli, tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_cli("logger=mlflow", f"logger.mlflow.tracking_uri={uri}")
    assert result.returncode == 2, result.stdout[-3000:]
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: logger.mlflow.tracking_uri='{uri}' is not allowed: a tracking server that "
        f"answers: {uri}/health gave no answer within 5 s ([Errno 111] Connection refused); "
        "start the server, or choose another logger"
    ]
    assert "Traceback" not in result.stdout
    assert _runs(tmp_path) == []
    assert time.monotonic() - started < 120  # not minutes of retries


def _paused_mlflow_run(run_cli, data_dir: Path, tmp_path: Path, server: str, epochs: int = 3):
    marker, gate = tmp_path / "paused", tmp_path / "gate"
    gate.write_text("hold")
    run = run_cli(
        *TINY_RUN,
        f"trainer.max_epochs={epochs}",
        "logger=[tensorboard,mlflow,csv]",
        f"logger.mlflow.tracking_uri={server}",
        f"+callbacks.pause._target_={HELPERS}.PauseAfterEpoch",
        f"+callbacks.pause.marker={marker}",
        f"+callbacks.pause.gate={gate}",
        data_dir=data_dir,
        background=True,
        # MLflow's own setting wins over vae-exp's 10 s: the hung-server tests wait less.
        env={"PYTHONPATH": str(TESTS), "MLFLOW_HTTP_REQUEST_TIMEOUT": "3"},
    )
    wait_for(marker, run)
    return run, gate


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["killed", "stopped"])
def test_a_server_lost_mid_run_costs_no_local_result(
    run_cli, small_mnist_dir, tmp_path, mlflow_service, fault
):
    mlflow_server, group = mlflow_service.url, mlflow_service.group
    run, gate = _paused_mlflow_run(run_cli, small_mnist_dir, tmp_path, mlflow_server)
    os.killpg(group, signal.SIGKILL if fault == "killed" else signal.SIGSTOP)
    try:
        gate.unlink()
        output = run.communicate(timeout=240)[0]
    finally:
        if fault == "stopped":
            os.killpg(group, signal.SIGCONT)
    assert run.returncode == 0, output[-3000:]
    assert f"MLflow at {mlflow_server} stopped answering" in output
    assert "the MLflow run lacks everything from step" in output
    (run_dir,) = _runs(tmp_path)
    record = _results(run_dir)
    assert (record["status"], record["epochs"]) == ("completed", 3)
    with (run_dir / "metrics.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3
    assert (run_dir / record["best_checkpoint"]).is_file()
    assert (run_dir / "figures" / "latent_grid_1_2.png").is_file()


@pytest.mark.slow
def test_sigterm_stops_a_run_whose_server_hangs(run_cli, small_mnist_dir, tmp_path, mlflow_service):
    run, gate = _paused_mlflow_run(run_cli, small_mnist_dir, tmp_path, mlflow_service.url)
    group = mlflow_service.group
    os.killpg(group, signal.SIGSTOP)
    try:
        gate.unlink()
        time.sleep(1)  # into the next epoch, whose first metrics go to a server that hangs
        run.send_signal(signal.SIGTERM)
        output = run.communicate(timeout=120)[0]
    finally:
        os.killpg(group, signal.SIGCONT)
    assert run.returncode == 130, output[-3000:]
    (run_dir,) = _runs(tmp_path)
    assert _results(run_dir)["status"] == "interrupted"
    assert (run_dir / "checkpoints" / "interrupted.ckpt").is_file()


@pytest.mark.slow
def test_sigkill_after_the_server_went_leaves_the_record_of_the_epochs_done(
    run_cli, small_mnist_dir, tmp_path, mlflow_service
):
    run, _ = _paused_mlflow_run(run_cli, small_mnist_dir, tmp_path, mlflow_service.url)
    os.killpg(mlflow_service.group, signal.SIGKILL)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=60)
    (run_dir,) = _runs(tmp_path)
    record = _results(run_dir)
    assert (record["status"], record["epochs"]) == ("running", 1)
    assert record["metrics"]["val/loss"] > 0
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
