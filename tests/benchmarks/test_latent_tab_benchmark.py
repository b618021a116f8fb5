"""benchmarks/latent_tab.py on a tiny run: each round trip printed, with its ratio to 100 ms."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from helpers.browser import require_chromium

from conftest import write_small_mnist

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIGURES = r"median ([\d.]+) ms, 90th percentile ([\d.]+) ms over (\d+) = ([\d.]+)x inside 100 ms"


def test_the_latent_tab_benchmark_prints_each_round_trip(tmp_path):
    require_chromium()
    data_dir = write_small_mnist(tmp_path / "mnist")
    command = [sys.executable, "benchmarks/latent_tab.py", "--data-dir", str(data_dir)]
    command += ["--train-batches", "2", "--requests", "6", "--browser-moves", "4"]
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name, count in (("decode route", 6), ("one slider move", 6), ("Chromium", 4)):
        line = next(line for line in result.stdout.splitlines() if line.startswith(name))
        median, p90, n, ratio = re.search(FIGURES, line).groups()
        assert int(n) == count and float(median) <= float(p90)
        # Both figures are printed to one decimal, the ratio from the median before rounding.
        low, high = float(median) - 0.05, float(median) + 0.05
        assert 100 / high - 0.051 <= float(ratio) <= 100 / low + 0.051
