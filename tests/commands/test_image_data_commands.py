"""Every image data set through the commands: train, sweep, explore and evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.data_formats import (
    write_celeba,
    write_cifar10,
    write_dsprites,
    write_image_folder,
    write_shapes3d,
)
from PIL import Image

TINY = (
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "data.batch_size=4",
    "data.eval_batch_size=8",
    "logger=none",
)


def _command(tool: str, *arguments: str, data_dir: Path, cwd: Path):
    env = {
        **os.environ,
        "VAE_EXP_DATA_DIR": str(data_dir),
        "VAE_EXP_OUTPUT_DIR": str(cwd / "outputs"),
        "PYTHONUNBUFFERED": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", f"vae_exp.{tool}", *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _colour(path: Path) -> bool:
    """Whether a picture holds colour: a grey one (and its grey axes) has R = G = B everywhere."""
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return bool((pixels[..., 0] != pixels[..., 2]).any())


@pytest.mark.parametrize(
    ("data", "choice", "colour"),
    [
        ("image_folder", ("data=image_folder", "data.image_size=[20,28]"), True),
        ("cifar10", ("data=cifar10",), True),
        ("celeba", ("data=celeba", "data.image_size=32"), True),
        ("dsprites", ("data=dsprites", "network=conv64"), False),
        ("shapes3d", ("data=shapes3d", "network=conv64"), True),
    ],
)
def test_an_image_data_set_trains_explores_and_evaluates_through_the_commands(
    tmp_path, data, choice, colour
):
    data_dir = tmp_path / "data"
    writers = {
        "cifar10": write_cifar10,
        "celeba": write_celeba,
        "dsprites": write_dsprites,
        "shapes3d": write_shapes3d,
    }
    if data == "shapes3d":
        pytest.importorskip("h5py")
    if data == "image_folder":
        data_dir.mkdir()
        choice = (*choice, f"data.path={write_image_folder(tmp_path / 'photos', {'a': 8, 'b': 8})}")
    else:
        writers[data](data_dir)
    run_dir = tmp_path / "run"
    _command("train", *choice, *TINY, f"hydra.run.dir={run_dir}", data_dir=data_dir, cwd=tmp_path)
    assert json.loads((run_dir / "results.json").read_text())["status"] == "completed"
    assert _colour(run_dir / "figures" / "reconstructions.png") == colour

    _command("explore", f"run={run_dir}", "grid.dims=[0,1]", data_dir=data_dir, cwd=tmp_path)
    assert _colour(run_dir / "figures" / "grid_0_1.png") == colour
    _command("evaluate", f"run={run_dir}", "num_samples=2", data_dir=data_dir, cwd=tmp_path)
    figures = json.loads((run_dir / "evaluation.json").read_text())
    assert figures["images"] > 0 and figures["bits_per_dim"]["value"] > 0


def test_a_colour_image_folder_sweeps(tmp_path):
    photos = write_image_folder(tmp_path / "photos", {"a": 6, "b": 6})
    sweep_dir = tmp_path / "sweep"
    _command(
        "train",
        "-m",
        "data=image_folder",
        f"data.path={photos}",
        "data.image_size=16",
        *TINY,
        "latent_dim=2,3",
        f"hydra.sweep.dir={sweep_dir}",
        data_dir=tmp_path / "data",
        cwd=tmp_path,
    )
    rows = (sweep_dir / "summary.csv").read_text().splitlines()
    assert len(rows) == 3 and all("completed" in row for row in rows[1:])
