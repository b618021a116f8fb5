"""Loggers beyond TensorBoard: CSV, MLflow (against a real tracking server), W&B offline."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure

from vae_exp.foundation.errors import UserError
from vae_exp.loggers.adapters import viewing_lines
from vae_exp.loggers.csv_metrics import EpochCSVLogger
from vae_exp.loggers.pictures import rgb_array
from vae_exp.pipeline.checks import check_train_config

from conftest import TINY_RUN

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- CSV -----------------------------------------------------------------------------------


def test_csv_has_one_row_per_epoch_with_every_scalar(trained_run):
    run_dir, run = trained_run
    rows = _csv_rows(run_dir / "metrics.csv")
    assert [row["epoch"] for row in rows] == ["0", "1"]
    events = run["events"]
    tags = set(events.Tags()["scalars"]) - {"epoch"}
    assert tags and tags <= set(rows[0])
    for tag in tags:  # the same values at the same steps as TensorBoard's curves
        logged = [(e.step, pytest.approx(e.value, rel=1e-6)) for e in events.Scalars(tag)]
        assert logged == [(int(row["step"]), float(row[tag])) for row in rows if row[tag]], tag
    assert rows[-1]["val/loss"] == repr(run["record"]["metrics"]["val/loss"])


def test_hyperparameters_add_no_point_to_the_curves(trained_run):
    _, run = trained_run
    events = run["events"]
    first_steps = {tag: events.Scalars(tag)[0].step for tag in events.Tags()["scalars"]}
    # Lightning's public `log_hyperparams(params, metrics)` would log each HPARAMS metric's
    # placeholder at step 0; the curves start at the first epoch's end instead.
    assert first_steps["val/loss"] > 0 and first_steps["val/neg_elbo"] > 0


def test_csv_of_a_resumed_run_keeps_the_epochs_its_checkpoint_holds(tmp_path):
    first = EpochCSVLogger(tmp_path)
    for epoch in range(3):
        first.log_metrics({"train/loss": 1.0 + epoch, "epoch": epoch}, step=10 * epoch)
        first.log_metrics({"val/loss": 2.0 + epoch, "epoch": epoch}, step=10 * epoch)
        first.save()
    first.log_metrics({"train/loss_step": 9.0, "epoch": 3}, step=35)  # interrupted in epoch 3
    first.save()

    resumed = EpochCSVLogger(tmp_path)  # resumes from the checkpoint after epoch 1
    resumed.log_metrics({"val/loss": 7.0, "epoch": 2}, step=20)
    resumed.save()
    rows = _csv_rows(tmp_path / "metrics.csv")
    assert [(r["epoch"], r["val/loss"], r["train/loss"]) for r in rows] == [
        ("0", "2.0", "1.0"),
        ("1", "3.0", "2.0"),
        ("2", "7.0", ""),  # epoch 2 anew; epoch 3 of the interrupted run is gone
    ]
    assert not list(tmp_path.glob(".metrics.csv*"))  # written atomically, no leftovers


# --- pictures, choices, report -------------------------------------------------------------


def test_pictures_become_rgb_arrays():
    image = torch.zeros(1, 5, 7)
    image[0, 1, 2] = 1.0
    array = rgb_array(image)
    assert array.shape == (5, 7, 3) and array.dtype.name == "uint8"
    assert array[1, 2].tolist() == [255, 255, 255] and array.sum() == 3 * 255
    figure = Figure(figsize=(2, 1), dpi=50)
    figure.add_subplot().plot([0, 1], [0, 1])
    assert rgb_array(figure).shape == (50, 100, 3)


def test_several_loggers_compose_and_mlflow_defaults_to_a_store_in_the_output_root(
    compose_train, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = compose_train("logger=[tensorboard,mlflow,csv]")
    assert list(cfg.logger) == ["tensorboard", "mlflow", "csv"]
    assert cfg.logger.mlflow.tracking_uri == f"sqlite:///{cfg.paths.output_root}/mlflow.db"
    assert cfg.logger.mlflow.run_name == Path(cfg.paths.run_dir).name
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    cfg = compose_train("logger=mlflow")
    assert cfg.logger.mlflow.tracking_uri == "http://127.0.0.1:5000"
    lines = viewing_lines(cfg.logger, cfg.paths.run_dir, cfg.paths.output_root)
    assert lines == ["MLflow:       http://127.0.0.1:5000 (experiment vae-exp)"]


@pytest.mark.parametrize(("choice", "package"), [("mlflow", "mlflow"), ("wandb", "wandb")])
def test_a_missing_extra_is_named_before_training(compose_train, monkeypatch, choice, package):
    # The packages are installed here (the dev extra has them); `None` in sys.modules makes
    # importing one fail as if it were not.
    monkeypatch.setitem(sys.modules, package, None)
    cfg = compose_train(f"logger=[tensorboard,{choice}]")
    with pytest.raises(UserError) as error:
        check_train_config(cfg)
    assert str(error.value) == (
        f"logger={choice} needs the {package} package, which is not installed: "
        f'pip install "vae-exp[{choice}]"'
    )


# --- MLflow --------------------------------------------------------------------------------


def _rest(url: str, endpoint: str, **query: str) -> dict:
    address = f"{url}/api/2.0/mlflow/{endpoint}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(address, timeout=30) as response:
        return json.load(response)


def _search_runs(url: str, experiment_id: str) -> list[dict]:
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/runs/search",
        data=json.dumps({"experiment_ids": [experiment_id]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["runs"]


@pytest.mark.slow
def test_a_run_reaches_a_real_mlflow_server(run_cli, small_mnist_dir, tmp_path, mlflow_server):
    result = run_cli(
        *TINY_RUN,
        "trainer.max_epochs=2",
        "logger=[tensorboard,mlflow,csv]",
        f"logger.mlflow.tracking_uri={mlflow_server}",
        data_dir=small_mnist_dir,
    )
    assert result.returncode == 0, result.stdout
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    assert f"MLflow:       {mlflow_server} (experiment vae-exp)" in result.stdout

    experiment = _rest(mlflow_server, "experiments/get-by-name", experiment_name="vae-exp")
    (run,) = _search_runs(mlflow_server, experiment["experiment"]["experiment_id"])
    run_id = run["info"]["run_id"]
    assert run["info"]["run_name"] == run_dir.name and run["info"]["status"] == "FINISHED"
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["digits"] == "1,8" and params["latent_dim"] == "4"
    assert params["optimizer"] == "RMSprop" and params["network"] == "ConvEncoder"
    assert params["seed"] == "12345" and params["data_source"] == "full"

    rows = _csv_rows(run_dir / "metrics.csv")
    assert len(rows) == 2
    for name in ("val/loss", "val/neg_elbo", "train/loss"):
        history = _rest(mlflow_server, "metrics/get-history", run_id=run_id, metric_key=name)
        points = [(m["step"], m["value"]) for m in history["metrics"]]
        assert points == [(int(r["step"]), pytest.approx(float(r[name]))) for r in rows], name

    listed = _rest(mlflow_server, "artifacts/list", run_id=run_id, path="images")["files"]
    pictures = [f["path"] for f in listed if f["path"].endswith(".png")]
    for tag in ("reconstructions", "samples", "latent_traversal"):
        assert len([p for p in pictures if p.startswith(f"images/images~{tag}+step+")]) == 2
    query = urllib.parse.urlencode({"run_id": run_id, "path": pictures[0]})
    with urllib.request.urlopen(f"{mlflow_server}/get-artifact?{query}", timeout=30) as response:
        assert response.read(8) == PNG_SIGNATURE
    assert list(run_dir.glob("events.out.tfevents.*"))  # TensorBoard as before


@pytest.mark.slow
def test_sweep_jobs_are_runs_named_like_their_folders_in_the_local_store(
    run_cli, small_mnist_dir, tmp_path, monkeypatch
):
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = run_cli(
        "-m",
        *TINY_RUN,
        "logger=[csv,mlflow]",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",  # both jobs create the store at once
        "kl_weight=1e-4,1e-3",
        data_dir=small_mnist_dir,
    )
    assert result.returncode == 0, result.stdout
    outputs = tmp_path / "outputs"
    (sweep_dir,) = (outputs / "multirun").iterdir()
    client = MlflowClient(tracking_uri=f"sqlite:///{outputs}/mlflow.db")
    experiment = client.get_experiment_by_name("vae-exp")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["kl_weight=0.0001", "kl_weight=0.001"]
    for run in runs:
        job = sweep_dir / run.info.run_name
        assert run.data.params["kl_weight"] == str(float(run.info.run_name.split("=")[1]))
        assert run.data.metrics["val/loss"] == pytest.approx(
            float(_csv_rows(job / "metrics.csv")[-1]["val/loss"])
        )
        images = client.list_artifacts(run.info.run_id, "images")
        assert any(a.path.startswith("images/images~reconstructions") for a in images)
    assert (outputs / "mlartifacts").is_dir() and not (tmp_path / "mlruns").exists()
    assert (sweep_dir / "summary.csv").is_file()


@pytest.mark.slow
def test_a_missing_extra_stops_the_command_with_one_line(tmp_path):
    script = (
        "import sys, runpy; sys.modules['mlflow'] = None; "
        "sys.argv = ['vae-exp-train', 'logger=[tensorboard,mlflow]']; "
        "runpy.run_module('vae_exp.train', run_name='__main__')"
    )
    env = {**os.environ, "VAE_EXP_OUTPUT_DIR": str(tmp_path / "outputs")}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() + result.stdout.splitlines() if line]
    assert len(lines) == 1 and lines[0].endswith('pip install "vae-exp[mlflow]"'), lines
    assert not list((tmp_path / "outputs").glob("runs/*"))


# --- Weights & Biases ------------------------------------------------------------------------


def _items(items) -> dict:
    """W&B's key-value items; a key with a slash is stored as a list of its parts."""
    return {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items}


@pytest.mark.slow
def test_wandb_offline_run_holds_metrics_config_and_images(run_cli, small_mnist_dir, tmp_path):
    from helpers.wandb_records import records

    result = run_cli(
        *TINY_RUN, "trainer.max_epochs=2", "logger=[csv,wandb]", data_dir=small_mnist_dir
    )
    assert result.returncode == 0, result.stdout
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    (offline,) = (run_dir / "wandb").glob("offline-run-*")
    assert f"wandb sync {offline}" in result.stdout

    config, history, run_name = {}, [], None
    for record in records(next(offline.glob("run-*.wandb"))):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run_name = record.run.display_name
        elif kind == "config":
            config.update(_items(record.config.update))
        elif kind == "history":
            history.append(_items(record.history.item))
    assert run_name == run_dir.name
    assert config["digits"] == "1,8" and config["latent_dim"] == 4
    assert config["optimizer"] == "RMSprop" and config["kl_weight"] == 5e-4

    rows = _csv_rows(run_dir / "metrics.csv")
    val_losses = [h["val/loss"] for h in history if "val/loss" in h]
    assert val_losses == [pytest.approx(float(row["val/loss"])) for row in rows]
    pictures = [h for h in history if "images/reconstructions/filenames" in h]
    assert len(pictures) == 2  # one per epoch
    for picture in pictures:
        (name,) = picture["images/reconstructions/filenames"]
        assert (offline / "files" / name).read_bytes()[:8] == PNG_SIGNATURE
