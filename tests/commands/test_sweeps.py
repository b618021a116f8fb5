"""Sweeps: readable job folders, failure isolation, the summary, launchers, Optuna, presets."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra

import vae_exp
from vae_exp.foundation.errors import ConfigError
from vae_exp.sweeps.jobs import parse_overrides
from vae_exp.sweeps.summary import summarize

from conftest import CONFIG_DIR, TINY_RUN


def _sweep(run_cli, data_dir: Path, *overrides: str) -> tuple[subprocess.CompletedProcess, Path]:
    result = run_cli("-m", *TINY_RUN, "data.source=full", *overrides, data_dir=data_dir)
    sweeps = list((data_dir.parent / "outputs" / "multirun").iterdir())
    assert len(sweeps) == 1, result.stdout
    return result, sweeps[0]


def _rows(sweep_dir: Path) -> list[dict[str, str]]:
    with (sweep_dir / "summary.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_grid_sweep_gives_readable_folders_and_a_summary(run_cli, small_mnist_dir):
    result, sweep_dir = _sweep(run_cli, small_mnist_dir, "kl_weight=1e-4,1e-3", "latent_dim=2,4")
    assert result.returncode == 0, result.stdout
    jobs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir())
    assert jobs == [
        "kl_weight=0.0001,latent_dim=2",
        "kl_weight=0.0001,latent_dim=4",
        "kl_weight=0.001,latent_dim=2",
        "kl_weight=0.001,latent_dim=4",
    ]
    for job in jobs:
        assert list((sweep_dir / job).glob("events.out.tfevents.*"))
    rows = _rows(sweep_dir)
    assert len(rows) == 4 and {r["status"] for r in rows} == {"completed"}
    losses = [float(r["val/loss"]) for r in rows]
    assert all(math.isfinite(v) for v in losses) and losses == sorted(losses)  # best first
    assert {(r["kl_weight"], r["latent_dim"]) for r in rows} == {
        ("0.0001", "2"),
        ("0.0001", "4"),
        ("0.001", "2"),
        ("0.001", "4"),
    }
    assert all(r["val/neg_elbo"] and r["val/active_units"] and r["epochs"] == "1" for r in rows)
    assert (sweep_dir / "summary.png").read_bytes()[:4] == b"\x89PNG"
    assert "| kl_weight=0.0001,latent_dim=2 |" in result.stdout


@pytest.mark.slow
def test_a_failing_job_does_not_stop_the_sweep(run_cli, small_mnist_dir):
    result, sweep_dir = _sweep(run_cli, small_mnist_dir, "kl_weight=1e-4,-1,1e-3")
    assert result.returncode == 1
    assert "1 of 3 jobs failed: kl_weight=-1" in result.stdout
    rows = {r["job"]: r for r in _rows(sweep_dir)}
    assert rows["kl_weight=-1"]["status"] == "failed"
    assert "kl_weight=-1 is not allowed" in rows["kl_weight=-1"]["error"]
    assert rows["kl_weight=0.0001"]["status"] == rows["kl_weight=0.001"]["status"] == "completed"
    assert list(rows)[-1] == "kl_weight=-1"  # failures after the finished jobs


@pytest.mark.slow
def test_joblib_runs_two_jobs_at_once(run_cli, small_mnist_dir):
    result, sweep_dir = _sweep(
        run_cli,
        small_mnist_dir,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "kl_weight=1e-4,1e-3",
    )
    assert result.returncode == 0, result.stdout
    assert "Launching 2 jobs, 2 at a time, each in a process of its own" in result.stdout
    assert [r["status"] for r in _rows(sweep_dir)] == ["completed", "completed"]


@pytest.mark.slow
def test_optuna_search_runs_its_trials(run_cli, small_mnist_dir):
    result, sweep_dir = _sweep(
        run_cli, small_mnist_dir, "hparams_search=optuna", "hydra.sweeper.n_trials=3"
    )
    assert result.returncode == 0, result.stdout
    assert "Best value:" in result.stdout
    assert (sweep_dir / "optimization_results.yaml").is_file()
    rows = _rows(sweep_dir)
    assert len(rows) == 3 and all(r["status"] == "completed" for r in rows)
    assert set(rows[0]) >= {"kl_weight", "latent_dim", "optimizer.lr"}
    elbos = [float(r["val/neg_elbo"]) for r in rows]
    assert elbos == sorted(elbos)  # ranked by the optimised metric


@pytest.mark.slow
def test_misspelt_metric_is_refused_before_any_trial(run_cli, small_mnist_dir, tmp_path):
    result = run_cli(
        "hparams_search=optuna", "optimized_metric=val/neg_elb", data_dir=small_mnist_dir
    )
    assert result.returncode == 2
    assert "optimized_metric='val/neg_elb' is not allowed: a logged metric:" in result.stdout
    assert "val/neg_elbo" in result.stdout and "Traceback" not in result.stdout
    assert not (tmp_path / "outputs" / "multirun").exists()


@pytest.mark.slow
def test_summarize_reads_an_interrupted_sweep(run_cli, small_mnist_dir):
    _, sweep_dir = _sweep(run_cli, small_mnist_dir, "kl_weight=1e-4,1e-3")
    (sweep_dir / "kl_weight=0.001" / "results.json").unlink()  # as if killed mid-run
    (sweep_dir / "summary.csv").unlink()
    result = subprocess.run(
        [sys.executable, "-m", "vae_exp.summarize", str(sweep_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = {r["job"]: r["status"] for r in _rows(sweep_dir)}
    assert rows == {"kl_weight=0.0001": "completed", "kl_weight=0.001": "incomplete"}
    assert "| kl_weight=0.001 |" in result.stdout


def test_summarize_without_a_sweep_is_an_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "vae_exp.summarize", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "no sweep folder" in result.stderr


@pytest.mark.slow
def test_summarize_writes_nothing_into_a_folder_that_is_no_sweep(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "vae_exp.summarize", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 2 and "holds no job folders of a sweep" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def _jobs_by_hand(folder: Path) -> None:
    """Three job folders as Hydra writes them, one without results."""
    for name, loss in (("a", 0.2), ("b", 0.1), ("c", None)):
        hydra_dir = folder / name / ".hydra"
        hydra_dir.mkdir(parents=True)
        (hydra_dir / "overrides.yaml").write_text(f"- kl_weight={0.1 if name == 'a' else 0.2}\n")
        (hydra_dir / "hydra.yaml").write_text(f"hydra:\n  job:\n    num: {'abc'.index(name)}\n")
        if loss is not None:
            record = {"status": "completed", "epochs": 3, "metrics": {"val/loss": loss}}
            (folder / name / "results.json").write_text(json.dumps(record))


def test_summary_of_jobs_written_by_hand(tmp_path):
    _jobs_by_hand(tmp_path)
    summary = summarize(tmp_path)
    assert [row["job"] for row in summary.rows] == ["b", "a", "c"]
    assert summary.rows[2]["status"] == "incomplete" and summary.settings == ["kl_weight"]


def test_summary_ranks_by_a_chosen_metric_with_the_evaluations(tmp_path):
    _jobs_by_hand(tmp_path)
    evaluation = {"nll": {"mean": 90.5, "stderr": 0.1}, "knn_accuracy": 0.9}
    (tmp_path / "a" / "evaluation.json").write_text(json.dumps(evaluation))
    summary = summarize(tmp_path, "eval/nll")
    assert [row["job"] for row in summary.rows] == ["a", "b", "c"]  # only a was evaluated
    assert summary.rows[0]["eval/nll"] == 90.5 and summary.rows[0]["eval/knn"] == 0.9
    assert math.isnan(summary.rows[1]["eval/nll"])
    assert "eval/linear_probe" not in summary.rows[0]  # no job has it
    with pytest.raises(ConfigError, match="--rank='val/nope' is not allowed: a metric the jobs"):
        summarize(tmp_path, "val/nope")


def test_parse_overrides_types_values():
    assert parse_overrides(["kl_weight=1e-4", "digits=[1,8]", "optimizer=adam"]) == {
        "kl_weight": 1e-4,
        "digits": [1, 8],
        "optimizer": "adam",
    }


EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_preset_trains(compose_train, small_mnist_dir, experiment):
    cfg = compose_train(
        f"experiment={experiment}", *TINY_RUN, f"data.data_dir={small_mnist_dir}", "logger=none"
    )
    if cfg.data.val_split >= 1:  # a number of images: as many as the tiny data set allows
        cfg.data.val_split = 50
    record = vae_exp.fit(cfg)
    assert record["status"] == "completed" and math.isfinite(record["metrics"]["val/loss"])


def test_blog_preset_is_the_reference_with_its_sampler(compose_train):
    cfg = compose_train("experiment=blog")
    assert cfg.model.reparameterization == "blog"
    assert (list(cfg.digits), cfg.latent_dim, cfg.kl_weight) == ([1, 8], 4, 5e-4)
    assert (cfg.data.batch_size, cfg.trainer.max_epochs, cfg.optimizer.alpha) == (16, 10, 0.9)


@pytest.mark.parametrize(
    "overrides",
    [
        ["hydra/launcher=slurm"],
        ["hydra/launcher=submitit_slurm"],
        ["hydra/launcher=joblib"],
        ["hparams_search=optuna"],
    ],
)
def test_launcher_and_search_configs_compose(overrides):
    with initialize_config_module(version_base="1.3", config_module="vae_exp.conf"):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    GlobalHydra.instance().clear()
    target = (
        cfg.hydra.launcher._target_ if "launcher" in overrides[0] else cfg.hydra.sweeper._target_
    )
    own = overrides == ["hydra/launcher=joblib"]  # vae-exp's launcher, with the plugin's settings
    assert target.split(".")[:2] == (
        ["hydra_plugins", "vae_exp_launcher"] if own else ["hydra_plugins", target.split(".")[1]]
    )
    if own:
        assert cfg.hydra.launcher.n_jobs == -1 and cfg.hydra.launcher.pre_dispatch == "2*n_jobs"
    if overrides == ["hydra/launcher=slurm"]:
        assert cfg.hydra.launcher.timeout_min == 60 and cfg.hydra.launcher.gpus_per_node == 1
