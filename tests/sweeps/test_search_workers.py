"""Searches with a stored study, with real worker processes: sharing, SIGKILL, Ctrl-C, pruning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from conftest import TINY_RUN

pytestmark = pytest.mark.slow

STUDY = "shared"


def _storage(tmp_path: Path, kind: str = "sqlite") -> str:
    if kind == "journal":
        return f"journal:{tmp_path / 'j.log'}"
    return f"sqlite:///{tmp_path / 'study.db'}"


def _search(tmp_path: Path, n_trials: int, *extra: str, kind: str = "sqlite") -> list[str]:
    return [
        "hparams_search=optuna",
        *TINY_RUN,
        "data.source=full",
        f"hydra.sweeper.n_trials={n_trials}",
        f"hydra.sweeper.storage={_storage(tmp_path, kind)}",
        f"hydra.sweeper.study_name={STUDY}",
        *extra,
    ]


def _study(tmp_path: Path, kind: str = "sqlite") -> optuna.Study:
    if kind == "journal":
        backend = optuna.storages.journal.JournalFileBackend(str(tmp_path / "j.log"))
        return optuna.load_study(study_name=STUDY, storage=optuna.storages.JournalStorage(backend))
    return optuna.load_study(study_name=STUDY, storage=_storage(tmp_path))


def _sweep_dir(tmp_path: Path) -> Path:
    return tmp_path / "outputs" / "multirun" / STUDY


def _status(folder: Path) -> str | None:
    try:
        return json.loads((folder / "results.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


def _wait_for(condition, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_two_workers_at_once_fill_the_study_exactly(run_cli, small_mnist_dir, tmp_path):
    workers = [
        run_cli(*_search(tmp_path, 4), data_dir=small_mnist_dir, background=True) for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = _study(tmp_path)
    finished = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(finished) == 4
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    folders = sorted(p.name for p in _sweep_dir(tmp_path).glob("trial_*"))
    assert folders == sorted(t.user_attrs["job_folder"] for t in finished)
    assert all(_status(_sweep_dir(tmp_path) / name) == "completed" for name in folders)
    summary = (_sweep_dir(tmp_path) / "summary.csv").read_text().splitlines()
    assert len(summary) == 1 + 4  # the whole study, whichever worker ran each trial
    best = (_sweep_dir(tmp_path) / "optimization_results.yaml").read_text()
    assert f"best_trial: {study.best_trial.number}" in best


@pytest.mark.parametrize("kind", ["sqlite", "journal"])  # a heartbeat; the job folder's lock
def test_a_killed_worker_s_trial_is_retried_on_restart(run_cli, small_mnist_dir, tmp_path, kind):
    command = _search(
        tmp_path,
        2,
        "hydra.sweeper.heartbeat_interval=1",
        "hydra.sweeper.grace_period=3",
        "trainer.max_epochs=30",
        "trainer.limit_train_batches=20",
        kind=kind,
    )
    worker = run_cli(*command, data_dir=small_mnist_dir, background=True)
    first = _sweep_dir(tmp_path) / "trial_0000"
    _wait_for(lambda: _status(first) == "running")
    os.kill(worker.pid, signal.SIGKILL)
    worker.communicate(timeout=60)

    again = run_cli(*command[:-2], data_dir=small_mnist_dir)  # the same search, shorter trials
    study = _study(tmp_path, kind)
    killed = study.trials[0]
    assert killed.state == TrialState.FAIL, again.stdout
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == 0]
    assert len(retried) == 1 and retried[0].state == TrialState.COMPLETE
    assert retried[0].params == killed.params
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 2
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    assert "trial_0000 | " in again.stdout and "failed" in again.stdout  # the summary says so


def test_ctrl_c_then_the_same_command_goes_on_numbering(run_cli, small_mnist_dir, tmp_path):
    command = _search(tmp_path, 3)
    worker = run_cli(*command, "trainer.max_epochs=30", data_dir=small_mnist_dir, background=True)
    first = _sweep_dir(tmp_path) / "trial_0000"
    _wait_for(lambda: _status(first) == "running")
    worker.send_signal(signal.SIGINT)
    output = worker.communicate(timeout=300)[0]
    assert worker.returncode == 130, output
    study = _study(tmp_path)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.WAITING]
    assert _status(first) == "interrupted"

    resumed = run_cli(*command, data_dir=small_mnist_dir)
    assert resumed.returncode == 0, resumed.stdout
    assert "| interrupted |" in resumed.stdout  # trial_0000, in the summary of the whole study
    study = _study(tmp_path)
    assert [t.number for t in study.get_trials(states=(TrialState.COMPLETE,))] == [1, 2, 3]
    assert study.trials[1].system_attrs["failed_trial"] == 0  # trial 0 run again, as trial 1
    folders = sorted(p.name for p in _sweep_dir(tmp_path).glob("trial_*"))
    assert folders == ["trial_0000", "trial_0001", "trial_0002", "trial_0003"]


def test_a_pruned_trial_is_a_complete_record(run_cli, small_mnist_dir, tmp_path):
    result = run_cli(
        "hparams_search=optuna",
        *TINY_RUN,
        "data.source=full",
        "trainer.max_epochs=4",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.pruner=median",
        "+hydra.sweeper.pruner_settings.n_startup_trials=1",
        "+hydra.sweeper.pruner_settings.n_warmup_steps=0",
        "~hydra.sweeper.params",
        "optimizer.lr=choice(1e-3,1e-7)",
        data_dir=small_mnist_dir,
    )
    assert result.returncode == 0, result.stdout
    sweep_dir = next((tmp_path / "outputs" / "multirun").iterdir())
    study = optuna.load_study(study_name="vae_exp", storage=f"sqlite:///{sweep_dir / 'study.db'}")
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert pruned, result.stdout
    for trial in pruned:
        folder = sweep_dir / trial.user_attrs["job_folder"]
        record = json.loads((folder / "results.json").read_text())
        assert record["status"] == "pruned"
        assert record["epochs"] == max(trial.intermediate_values) + 1 < 4
        assert "val/neg_elbo" in record["metrics"]
        assert list((folder / "checkpoints").glob("*.ckpt"))
    assert "| pruned |" in result.stdout
    assert "trial_pruning" not in (sweep_dir / "summary.csv").read_text().splitlines()[0]

    # Resumed, a pruned trial is a run of its own: it trains on and reports to no study.
    trial = pruned[0]
    folder = sweep_dir / trial.user_attrs["job_folder"]
    resumed = run_cli(f"resume={folder}", data_dir=small_mnist_dir)
    assert resumed.returncode == 0, resumed.stdout
    assert json.loads((folder / "results.json").read_text())["status"] == "completed"
    again = optuna.load_study(study_name="vae_exp", storage=f"sqlite:///{sweep_dir / 'study.db'}")
    assert again.trials[trial.number].intermediate_values == trial.intermediate_values


def test_k_workers_of_one_command_share_the_study_and_the_cores(run_cli, small_mnist_dir, tmp_path):
    result = run_cli(
        "hparams_search=optuna",
        *TINY_RUN,
        "data.source=full",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.n_trials=4",
        data_dir=small_mnist_dir,
    )
    assert result.returncode == 0, result.stdout
    assert "2 worker(s) here" in result.stdout
    sweep_dir = next((tmp_path / "outputs" / "multirun").iterdir())
    study = optuna.load_study(study_name="vae_exp", storage=f"sqlite:///{sweep_dir / 'study.db'}")
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 4
    threads = max(1, len(os.sched_getaffinity(0)) // 2)
    for folder in sorted(sweep_dir.glob("trial_*")):
        record = json.loads((folder / "results.json").read_text())
        assert record["process_settings"]["torch_threads"] == threads


SLURM_SCRIPT = Path(__file__).parents[2] / "examples" / "slurm" / "search.sbatch"


def test_the_slurm_array_s_tasks_fill_one_journal_study(small_mnist_dir, tmp_path):
    # No cluster here: each array task is the script itself, run by bash, with an `srun` that
    # starts the command it is given.
    shim = tmp_path / "bin" / "srun"
    shim.parent.mkdir()
    shim.write_text(
        '#!/bin/bash\n[ "$1" = vae-exp-train ] && shift\nexec "$PY" -m vae_exp.train "$@"\n'
    )
    shim.chmod(0o755)
    journal = tmp_path / "shared" / "search.log"
    env = {
        **os.environ,
        "PATH": f"{shim.parent}:{os.environ['PATH']}",
        "PY": sys.executable,
        "STORAGE": f"journal:{journal}",
        "STUDY": "array",
        "N_TRIALS": "3",
        "TRAINER": "cpu",
        "VAE_EXP_OUTPUT_DIR": str(tmp_path / "outputs"),
        "VAE_EXP_DATA_DIR": str(small_mnist_dir),
    }
    tasks = [
        subprocess.Popen(
            ["bash", str(SLURM_SCRIPT), *TINY_RUN, "data.source=full"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [task.communicate(timeout=600)[0] for task in tasks]
    assert [task.returncode for task in tasks] == [0, 0], outputs
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    study = optuna.load_study(study_name="array", storage=storage)
    ended = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(ended) == 3
    folders = {t.user_attrs["job_folder"] for t in ended}
    assert len(folders) == 3
    assert all((tmp_path / "outputs" / "multirun" / "array" / f).is_dir() for f in folders)
