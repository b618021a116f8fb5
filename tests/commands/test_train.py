"""Training in-process and through the command line."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import yaml

import vae_exp
from vae_exp.data.mnist_files import raw_folder
from vae_exp.runs.locations import claim_fresh_dir

from conftest import TINY_RUN


def _quiet(*overrides: str) -> tuple[str, ...]:
    return (*TINY_RUN, "logger=none", "callbacks=none", *overrides)


def test_same_seed_same_losses_other_seed_other_losses(compose_train, small_mnist_dir):
    data = f"data.data_dir={small_mnist_dir}"
    first = vae_exp.fit(compose_train(*_quiet(data)))["metrics"]
    second = vae_exp.fit(compose_train(*_quiet(data)))["metrics"]
    other = vae_exp.fit(compose_train(*_quiet(data, "seed=99")))["metrics"]
    assert first == second
    assert first["val/loss"] != other["val/loss"]


def test_another_experiment_needs_no_code(compose_train, small_mnist_dir):
    cfg = compose_train(
        *_quiet(f"data.data_dir={small_mnist_dir}"),
        "kl_weight=1e-3",
        "latent_dim=8",
        "digits=[0,6,9]",
        "optimizer=adam",
        "model.reparameterization=blog",
    )
    record = vae_exp.fit(cfg)
    assert record["status"] == "completed" and record["epochs"] == 1
    assert all(
        math.isfinite(record["metrics"][f"val/{k}"]) for k in ("loss", "recon", "kl", "neg_elbo")
    )
    saved = yaml.safe_load((Path(cfg.paths.run_dir) / "config.yaml").read_text())
    assert (
        saved["model"]["latent_dim"] == 8 and saved["optimizer"]["_target_"] == "torch.optim.Adam"
    )


def test_claimed_folders_are_never_shared(tmp_path):
    base = str(tmp_path / "runs" / "2026-01-01_00-00-00")
    claimed = [claim_fresh_dir(base) for _ in range(3)]
    assert claimed == [base, f"{base}-2", f"{base}-3"]
    assert all(Path(p).is_dir() for p in claimed)


def _run_folder(output: str, outputs: Path) -> Path:
    reported = re.findall(r"run folder\s+(\S+)", output)
    assert len(reported) == 1, output
    folder = Path(reported[0])
    assert folder.parent == outputs / "runs"
    return folder


def test_cli_runs_write_complete_separate_folders(run_cli, small_mnist_dir, tmp_path):
    # Two runs at once: one on files in MNIST's layout, one with no data and no network
    # (source=auto falls back to the packaged sample).
    on_files = run_cli(*TINY_RUN, "data.source=full", data_dir=small_mnist_dir, background=True)
    fallback = run_cli(*TINY_RUN, background=True)
    outputs = tmp_path / "outputs"
    folders = []
    for process, source in ((on_files, "full"), (fallback, "sample")):
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output
        assert "Traceback" not in output
        folder = _run_folder(output, outputs)
        assert f"tensorboard --logdir {outputs}" in output
        record = json.loads((folder / "results.json").read_text())
        assert record["status"] == "completed" and record["data_source"] == source
        assert math.isfinite(record["metrics"]["val/loss"])
        assert math.isfinite(record["metrics"]["val/neg_elbo"])
        assert (folder / ".hydra" / "config.yaml").is_file() and (folder / "config.yaml").is_file()
        assert "Epoch 1/1  train/loss" in (folder / "train.log").read_text()
        assert list(folder.glob("events.out.tfevents.*"))
        checkpoints = sorted(p.name for p in (folder / "checkpoints").iterdir())
        assert "last.ckpt" in checkpoints and any(n.startswith("epoch=00-") for n in checkpoints)
        assert yaml.safe_load((folder / "hparams.yaml").read_text())["data_source"] == source
        assert ("FALLING BACK" in output) == (source == "sample")
        folders.append(folder)
    assert folders[0] != folders[1]


def _corrupt(small_mnist_dir: Path) -> str:
    path = raw_folder(small_mnist_dir) / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    return str(path)


# Each case starts a process; the fast tier keeps one refused by vae-exp and one by Hydra.
_SLOW = pytest.mark.slow
BAD_INPUTS = [
    (("digits=[1,12]",), "digits"),
    pytest.param(("digits=[8,8]",), "digits", marks=_SLOW),
    pytest.param(("digits=[]",), "digits", marks=_SLOW),
    pytest.param(("latent_dim=0",), "latent_dim", marks=_SLOW),
    pytest.param(("kl_weight=-0.5",), "kl_weight", marks=_SLOW),
    pytest.param(("kl_weight=nan",), "kl_weight", marks=_SLOW),
    pytest.param(("kl_weight=inf",), "kl_weight", marks=_SLOW),
    pytest.param(("data.batch_size=0",), "data.batch_size", marks=_SLOW),
    (("optimizer=lbfgs",), "Available options in 'optimizer':\n\tadam\n\tadamw\n\trmsprop\n\tsgd"),
    pytest.param(("data.source=full",), "data.source='full'", marks=_SLOW),
]


@pytest.mark.parametrize(("overrides", "expected"), BAD_INPUTS)
def test_bad_input_stops_before_training(run_cli, tmp_path, overrides, expected):
    result = run_cli(*overrides)
    assert result.returncode != 0
    assert expected in result.stdout
    assert "Traceback" not in result.stdout and "Epoch 0" not in result.stdout
    runs = tmp_path / "outputs" / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # nothing left behind


@pytest.mark.slow  # test_data checks the same in-process
def test_corrupt_file_is_named_by_the_cli(run_cli, small_mnist_dir):
    path = _corrupt(small_mnist_dir)
    result = run_cli(*TINY_RUN, data_dir=small_mnist_dir)
    assert result.returncode != 0
    assert f"MNIST file {path} is truncated" in result.stdout
    assert "Traceback" not in result.stdout


@pytest.mark.slow
def test_one_epoch_on_the_full_digits_learns(compose_train, shared_data_dir):
    # The reference reaches about 0.11 after 10 epochs; one epoch already gets most of the way.
    cfg = compose_train(
        f"data.data_dir={shared_data_dir}",
        "data.source=full",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "logger=none",
    )
    record = vae_exp.fit(cfg)
    assert record["data_source"] == "full"
    assert record["metrics"]["val/loss"] < 0.16
    assert record["metrics"]["val/neg_elbo"] < 140
