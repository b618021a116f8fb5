"""Sweeps under real faults: a job's process killed with SIGKILL, Ctrl-C mid-sweep, a job that
died without finishing its record, and hostile or damaged job records."""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from pathlib import Path

import pytest
from helpers.commands import run_tool, wait_for

from vae_exp.runs.claims import lock_run
from vae_exp.sweeps.launcher import parallel_jobs
from vae_exp.sweeps.summary import summarize

from conftest import TINY_RUN

HELPERS = "helpers.fault_callbacks"


def _rows(sweep_dir: Path) -> dict[str, dict[str, str]]:
    with (sweep_dir / "summary.csv").open() as handle:
        return {row["job"]: row for row in csv.DictReader(handle)}


def _only_sweep(outputs: Path) -> Path:
    (sweep_dir,) = (outputs / "multirun").iterdir()
    return sweep_dir


@pytest.mark.slow
def test_a_killed_job_process_fails_that_job_only(run_cli, small_mnist_dir, tmp_path):
    marker = tmp_path / "held_job_pid"
    sweep = run_cli(
        "-m",
        *TINY_RUN,
        "data.source=full",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "kl_weight=1e-4,1e-3",
        f"+callbacks.hold._target_={HELPERS}.HoldOneJob",
        f"+callbacks.hold.marker={marker}",
        "+callbacks.hold.kl_weight=1e-3",
        data_dir=small_mnist_dir,
        background=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    wait_for(marker, sweep)
    os.kill(int(marker.read_text()), signal.SIGKILL)  # as the out-of-memory killer does
    output = sweep.communicate(timeout=300)[0]
    assert sweep.returncode == 1, output[-3000:]
    assert "TerminatedWorkerError" not in output
    rows = _rows(_only_sweep(tmp_path / "outputs"))
    assert rows["kl_weight=0.0001"]["status"] == "completed"
    assert rows["kl_weight=0.001"]["status"] == "failed"
    assert "killed by SIGKILL" in rows["kl_weight=0.001"]["error"]
    assert "1 of 2 jobs failed: kl_weight=0.001" in output


def _held_sweep(run_cli, data_dir: Path, tmp_path: Path, *overrides: str):
    """A three-job sweep whose jobs hold after their first epoch while the gate file exists."""
    marker, gate = tmp_path / "paused", tmp_path / "gate"
    gate.write_text("hold")
    sweep = run_cli(
        "-m",
        *TINY_RUN,
        "trainer.max_epochs=2",
        "data.source=full",
        *overrides,
        "kl_weight=1e-4,1e-3,1e-2",
        f"+callbacks.pause._target_={HELPERS}.PauseAfterEpoch",
        f"+callbacks.pause.marker={marker}",
        f"+callbacks.pause.gate={gate}",
        data_dir=data_dir,
        background=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    wait_for(marker, sweep)
    return sweep, gate


@pytest.mark.slow
def test_ctrl_c_mid_sweep_gives_a_summary_of_every_job(run_cli, small_mnist_dir, tmp_path):
    sweep, _ = _held_sweep(run_cli, small_mnist_dir, tmp_path)
    sweep.send_signal(signal.SIGINT)
    output = sweep.communicate(timeout=120)[0]
    assert sweep.returncode == 130, output[-3000:]
    rows = _rows(_only_sweep(tmp_path / "outputs"))
    statuses = {job: row["status"] for job, row in rows.items()}
    assert statuses["kl_weight=0.0001"] == "interrupted"
    never = [row for job, row in rows.items() if job != "kl_weight=0.0001"]
    assert len(never) == 2 and all(r["status"] == "incomplete" for r in never)
    assert {r["kl_weight"] for r in never} == {"0.001", "0.01"}
    assert all(r["error"] == "never started" for r in never)


@pytest.mark.parametrize("n_jobs, expected", [(2, 2), (1, 1), (None, 1), (-1, os.cpu_count())])
def test_n_jobs_keeps_its_joblib_meaning(n_jobs, expected):
    assert parallel_jobs(n_jobs) == expected
    assert parallel_jobs(-(os.cpu_count() or 1) - 5) == 1  # never fewer than one


@pytest.mark.slow
def test_ctrl_c_stops_parallel_jobs_cleanly_and_lists_the_rest(run_cli, small_mnist_dir, tmp_path):
    launcher = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    sweep, gate = _held_sweep(run_cli, small_mnist_dir, tmp_path, *launcher)
    time.sleep(2)  # both running jobs are held after their first epoch
    sweep.send_signal(signal.SIGINT)
    time.sleep(1)
    gate.unlink()  # the held jobs go on into their next step, where the stop takes effect
    output = sweep.communicate(timeout=240)[0]
    assert sweep.returncode == 130, output[-3000:]
    rows = _rows(_only_sweep(tmp_path / "outputs"))
    statuses = sorted(row["status"] for row in rows.values())
    assert statuses == ["incomplete", "interrupted", "interrupted"], rows
    (never,) = [row for row in rows.values() if row["status"] == "incomplete"]
    assert never["error"] == "never started" and never["kl_weight"] == "0.01"


def _job(folder: Path, number: int, record: dict | None, overrides: str = "- kl_weight=0.1\n"):
    hydra_dir = folder / f"job{number}" / ".hydra"
    hydra_dir.mkdir(parents=True)
    (hydra_dir / "overrides.yaml").write_text(overrides)
    (hydra_dir / "hydra.yaml").write_text(f"hydra:\n  job:\n    num: {number}\n")
    if record is not None:
        (folder / f"job{number}" / "results.json").write_text(json.dumps(record))
    return folder / f"job{number}"


def test_a_job_that_died_mid_run_is_failed_and_a_live_one_running(tmp_path):
    running = {"status": "running", "epochs": 1, "metrics": {"val/loss": 0.2}}
    dead = _job(tmp_path, 0, running)
    (dead / ".vae-exp-claim").write_text("{}\n")
    live = _job(tmp_path, 1, running, "- kl_weight=0.2\n")
    lock = lock_run(live)  # as the job's training process holds it
    try:
        rows = {row["job"]: row for row in summarize(tmp_path).rows}
    finally:
        lock.close()
    assert (
        rows["job0"]["status"] == "failed" and "ended before it finished" in rows["job0"]["error"]
    )
    assert rows["job1"]["status"] == "running"


def test_a_hostile_overrides_file_gives_one_line(tmp_path):
    marker = tmp_path / "code_ran"
    _job(tmp_path, 0, {"status": "completed", "metrics": {}})
    _job(tmp_path, 1, None, f"- !!python/object/apply:os.system ['touch {marker}']\n")
    result = run_tool("summarize", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "overrides.yaml cannot be read as a saved config" in result.stderr
    assert not marker.exists()


def test_a_damaged_job_record_gives_one_line(tmp_path):
    job = _job(tmp_path, 0, None)
    (job / "results.json").write_text("[1, 2")
    result = run_tool("summarize", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "results.json cannot be read as JSON" in result.stderr


def test_the_plan_of_a_grid_sweep_lists_jobs_that_never_started(tmp_path):
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n"
        "  sweeper:\n"
        "    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper\n"
        "    params: null\n"
        "  overrides:\n"
        "    task:\n"
        "    - kl_weight=0.1,0.2,0.3\n"
        "    - latent_dim=2\n"
    )
    _job(tmp_path, 0, {"status": "completed", "epochs": 1, "metrics": {"val/loss": 0.1}})
    rows = summarize(tmp_path).rows
    assert [row["status"] for row in rows] == ["completed", "incomplete", "incomplete"]
    assert [row["kl_weight"] for row in rows] == [0.1, 0.2, 0.3]


def test_a_search_has_no_fixed_plan(tmp_path):
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  sweeper:\n    _target_: hydra_plugins.vae_exp_sweeper."
        "OptunaSweeper\n  overrides:\n    task:\n    - kl_weight=0.1,0.2\n"
    )
    _job(tmp_path, 0, {"status": "completed", "epochs": 1, "metrics": {"val/loss": 0.1}})
    assert len(summarize(tmp_path).rows) == 1
