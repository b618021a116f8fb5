"""benchmarks/image_data.py on a tiny synthetic folder: every figure printed, and consistent."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_small_mnist

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_image_data_benchmark_prints_the_cache_start_and_loader_figures(tmp_path):
    env = {**os.environ, "VAE_EXP_DATA_DIR": str(write_small_mnist(tmp_path / "mnist"))}
    command = [sys.executable, "benchmarks/image_data.py", "--images", "300", "--batches", "3"]
    result = subprocess.run(
        [*command, "--repeats", "1", "--keep", str(tmp_path / "bench")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"cache build: 300 images in [\d.]+ s = \d+ images/s", out), out
    loader, model, ratio = (
        float(v)
        for v in re.search(
            r"batch 64: (\d+) images/s; .*: (\d+) images/s; .* = ([\d.]+)", out
        ).groups()
    )
    assert ratio == pytest.approx(loader / model, rel=0.05, abs=0.1)
    assert "a later run's command to first step" in out
    assert len(list((tmp_path / "bench" / "images").rglob("*.jpg"))) == 300
