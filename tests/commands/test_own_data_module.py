"""A data module of the user's own (examples/my_data.py) through every command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import CHECKOUT

EXAMPLES = CHECKOUT / "examples"


def _command(tool: str, *arguments: str, outputs: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "VAE_EXP_OUTPUT_DIR": str(outputs), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", f"vae_exp.{tool}", *arguments],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_example_data_module_trains_sweeps_resumes_explores_and_evaluates(tmp_path):
    own = ("--config-dir", "my_configs", "data=stripes", "data.images=64", "logger=none")
    run_dir = tmp_path / "run"
    trained = _command(
        "train", *own, "trainer.max_epochs=1", f"hydra.run.dir={run_dir}", outputs=tmp_path
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert json.loads((run_dir / "results.json").read_text())["status"] == "completed"

    resumed = _command(
        "train",
        "--config-dir",
        "my_configs",
        f"resume={run_dir}",
        "trainer.max_epochs=2",
        outputs=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((run_dir / "results.json").read_text())["epochs"] == 2

    sweep_dir = tmp_path / "sweep"
    swept = _command(
        "train",
        "-m",
        *own,
        "trainer.max_epochs=1",
        "kl_weight=1e-3,1e-2",
        f"hydra.sweep.dir={sweep_dir}",
        outputs=tmp_path,
    )
    assert swept.returncode == 0, swept.stderr[-2000:]
    assert len((sweep_dir / "summary.csv").read_text().splitlines()) == 3  # a header, two jobs

    drawn = _command("explore", f"run={run_dir}", "traversal.dim=0", outputs=tmp_path)
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    assert (run_dir / "figures" / "traversal_dim0.png").is_file()

    scored = _command("evaluate", f"run={run_dir}", "num_samples=2", outputs=tmp_path)
    assert scored.returncode == 0, scored.stderr[-2000:]
    figures = json.loads((run_dir / "evaluation.json").read_text())
    assert figures["split"] == "val" and figures["images"] == 8  # no test split: validation
