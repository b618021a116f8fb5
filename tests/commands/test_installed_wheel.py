"""A wheel built from the checkout, installed outside it, used from an empty folder.

The wheel goes into a fresh virtual environment that reuses the dependencies
already installed here (a path line in a `.pth` file; the `.pth` files inside
that folder, such as an editable install of this checkout, are not run), so the
commands import vae_exp from the installed wheel alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import CHECKOUT, TINY_RUN

pytestmark = pytest.mark.slow


def _run(*command: str | Path, cwd: Path | None = None, env: dict | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file below `folder` but Python's bytecode caches, with its size and mtime."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the environment's bin folder, the installed package folder)."""
    root = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", root / "dist", CHECKOUT)
    (wheel,) = (root / "dist").glob("vae_exp-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"vae_exp/conf/train.yaml", "vae_exp/conf/hydra/help/train.yaml"} <= names
    assert "vae_exp/conf/callbacks/latent_grid.yaml" in names
    assert "vae_exp/latent_tab/static/index.js" in names  # the LATENT tab's page
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as archive:
        listed = archive.read(entry_points).decode()
    assert "[tensorboard_plugins]\nvae_latent = vae_exp.latent_tab.plugin:LatentPlugin" in listed
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    (site / "reused_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    return venv / "bin", site / "vae_exp"


def test_installed_commands_work_from_an_empty_folder(installed, small_mnist_dir, tmp_path):
    bin_dir, package = installed
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAE_EXP_", "PYTHON"))}
    env["VAE_EXP_DATA_DIR"] = str(small_mnist_dir)
    before = _snapshot(package)

    located = _run(bin_dir / "python", "-c", "import vae_exp; print(vae_exp.__file__)", cwd=work)
    assert Path(located.strip()).parent == package

    assert "kl_weight=0.0005" in _run(bin_dir / "vae-exp-train", "--help", cwd=work, env=env)
    _run(bin_dir / "vae-exp-train", *TINY_RUN, cwd=work, env=env)
    (run_dir,) = (work / "outputs" / "runs").iterdir()
    assert (run_dir / "results.json").is_file() and (run_dir / "train.log").is_file()

    relative_run = f"run=outputs/runs/{run_dir.name}"  # relative to where the command starts
    _run(bin_dir / "vae-exp-explore", relative_run, "z=[0,1,0,0]", cwd=work, env=env)
    assert (run_dir / "figures" / "z_0_1_0_0.png").is_file()
    _run(bin_dir / "vae-exp-evaluate", relative_run, "num_samples=4", cwd=work, env=env)
    assert (run_dir / "evaluation.json").is_file()
    exported = _run(
        bin_dir / "vae-exp-export", relative_run, "format=torchscript", cwd=work, env=env
    )
    assert "exports/torchscript\n  decoder.pt\n  encoder.pt\n  export.json" in exported

    _run(bin_dir / "vae-exp-train", "-m", "kl_weight=1e-4,1e-3", *TINY_RUN, cwd=work, env=env)
    (sweep_dir,) = (work / "outputs" / "multirun").iterdir()
    assert (sweep_dir / "summary.csv").is_file()
    (sweep_dir / "summary.csv").unlink()
    _run(bin_dir / "vae-exp-summarize", f"outputs/multirun/{sweep_dir.name}", cwd=work, env=env)
    assert (sweep_dir / "summary.csv").is_file()

    assert [p.name for p in work.iterdir()] == ["outputs"]
    assert _snapshot(package) == before  # nothing written into the installed package
