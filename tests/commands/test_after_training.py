"""After training: explore and evaluate a run, safe checkpoint loading."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path

import pytest
import torch
from helpers.commands import run_tool
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra

import vae_exp
from vae_exp.foundation.errors import UserError
from vae_exp.runs.checkpoints import load_checkpoint, load_vae

from conftest import TINY_RUN, write_small_mnist


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trained")
    data_dir = write_small_mnist(root / "data")
    with initialize_config_module(version_base="1.3", config_module="vae_exp.conf"):
        cfg = compose(
            config_name="train",
            overrides=[f"paths.run_dir={root / 'run'}", f"data.data_dir={data_dir}", *TINY_RUN],
        )
    GlobalHydra.instance().clear()
    vae_exp.fit(cfg)
    return root / "run"


def _tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_tool(name, *args, cwd=cwd)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[20:24], "big"), int.from_bytes(data[16:20], "big")  # (h, w)


def test_explore_draws_the_three_figures(run_dir, tmp_path):
    out = tmp_path / "pictures"
    result = _tool(
        "explore",
        f"run={run_dir}",
        f"out={out}",
        "z=[0,1,0,0]",
        "traversal.dim=0",
        "traversal.base=[1,1,1,1]",
        "grid.dims=[1,2]",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.split()]
    assert [p.name for p in paths] == ["z_0_1_0_0.png", "traversal_dim0.png", "grid_1_2.png"]
    assert _png_size(paths[0]) == (224, 224)
    assert _png_size(paths[1]) == (28, 8 * 28 + 7)
    assert not any(p.name.startswith(".hydra") or p.suffix == ".log" for p in tmp_path.iterdir())


@pytest.mark.slow
def test_explore_never_overwrites_and_defaults_to_the_run_figures(run_dir, tmp_path):
    first = _tool("explore", f"run={run_dir}", "z=[0,0,0,0]", cwd=tmp_path)
    second = _tool("explore", f"run={run_dir}", "z=[0,0,0,0]", cwd=tmp_path)
    assert Path(first.stdout.strip()) == run_dir / "figures" / "z_0_0_0_0.png"
    assert Path(second.stdout.strip()) == run_dir / "figures" / "z_0_0_0_0-2.png"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["z=[0,1,0]"], "z=[0, 1, 0] is not allowed: 4 numbers", marks=pytest.mark.slow
        ),
        pytest.param(
            ["grid.dims=[1,2]", "grid.steps=0"],
            "grid.steps=0 is not allowed: an integer >= 1",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            ["traversal.dim=4"],
            "traversal.dim=[4] is not allowed: latent dimension(s) [4] out of range",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            ["grid.dims=[1,1]"],
            "grid.dims=[1, 1] is not allowed: two different dimensions",
            marks=pytest.mark.slow,
        ),
        pytest.param([], "nothing to draw", marks=pytest.mark.slow),
    ],
)
def test_explore_errors(run_dir, tmp_path, args, message):
    result = _tool("explore", f"run={run_dir}", *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_explore_a_folder_without_checkpoints(tmp_path):
    result = _tool("explore", f"run={tmp_path}", "z=[0,1,0,0]", cwd=tmp_path)
    assert result.returncode == 2 and "has no readable checkpoint" in result.stderr


@pytest.mark.slow
def test_evaluate_writes_its_figures(run_dir, tmp_path):
    result = _tool("evaluate", f"run={run_dir}", "num_samples=20", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "-log p(x), K=20" in result.stdout
    figures = json.loads((run_dir / "evaluation.json").read_text())
    assert figures["split"] == "test" and figures["images"] == 20  # ten 1s and ten 8s
    # The importance-sampled bound is at least as tight as the ELBO, up to the ELBO's own
    # one-sample noise: six steps from Keras's start leave a posterior near the prior, and so
    # almost no gap (a wrong log K or weight would move the estimate by nats, not hundredths).
    assert figures["nll"]["mean"] < figures["neg_elbo"]["mean"] + 0.05
    assert figures["nll"]["stderr"] > 0
    assert set(figures["per_digit"]) == {"1", "8"}
    assert len(figures["kl_per_dimension"]) == 4 and 0 <= figures["active_units"] <= 4
    again = _tool("evaluate", f"run={run_dir}", "num_samples=20", "split=train", cwd=tmp_path)
    assert again.returncode == 0 and (run_dir / "evaluation-2.json").is_file()


@pytest.mark.slow
def test_evaluate_rejects_a_bad_split(run_dir, tmp_path):
    result = _tool("evaluate", f"run={run_dir}", "split=dev", cwd=tmp_path)
    assert result.returncode == 2 and "split='dev' is not allowed" in result.stderr


class _Payload:
    """Runs a command when unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_carrying_code_is_refused(run_dir, tmp_path):
    marker = tmp_path / "code_ran"
    contents = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    contents["hyper_parameters"]["latent_dim"] = _Payload(marker)
    evil = tmp_path / "evil.ckpt"
    torch.save(contents, evil)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(evil, weights_only=True)  # what vae-exp's loader relies on
    with pytest.raises(UserError, match="refusing to load"):
        load_vae(evil)
    result = _tool("explore", f"run={evil}", "z=[0,1,0,0]", cwd=tmp_path)
    assert result.returncode == 2 and "refusing to load" in result.stderr
    assert not marker.exists()


def test_export_writes_a_fresh_folder_and_prints_what_it_holds(run_dir, tmp_path):
    result = _tool("export", f"run={run_dir}", "format=torchscript", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.splitlines()[0])
    assert folder.parent == run_dir / "exports" and folder.name.startswith("torchscript")
    assert result.stdout.splitlines()[1:] == ["  decoder.pt", "  encoder.pt", "  export.json"]
    assert json.loads((folder / "export.json").read_text())["format"] == "torchscript"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["format=tflite"], "format='tflite' is not allowed: one of onnx, torchscript"),
        (
            ["out=/proc/forbidden"],
            "out='/proc/forbidden' is not allowed: a folder that can be made",
        ),
    ],
)
def test_export_errors(run_dir, tmp_path, args, message):
    result = _tool("export", f"run={run_dir}", *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
