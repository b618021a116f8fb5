"""`benchmarks/cli_latency.py`: each command afresh and again, against `import hydra`."""

from __future__ import annotations

import subprocess
import sys

from conftest import CHECKOUT

COMMANDS = (
    "vae-exp-train --help",
    "vae-exp-train --cfg job",
    "TAB completion (-sc query=bash)",
    "a refused argument",
    "vae-exp-explore --help",
    "vae-exp-evaluate --help",
)


def test_the_cli_latency_benchmark_prints_both_ways_for_every_command():
    result = subprocess.run(
        [sys.executable, "benchmarks/cli_latency.py", "--repeats", "1"],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    header, reference, *rows = result.stdout.splitlines()
    assert header.split()[:3] == ["command", "afresh", "s"]
    assert reference.split()[:2] == ["import", "hydra"]
    hydra_afresh, _, hydra_ratio, hydra_again, _, hydra_ratio_again = (
        float(value) for value in reference.split()[2:8]
    )
    assert hydra_ratio == hydra_ratio_again == 1.0
    assert [row[:34].strip() for row in rows] == list(COMMANDS)
    for row in rows:
        afresh, _, ratio, again, _, ratio_again, torch = row[34:].split()
        assert torch == "no"  # none of these answers imports PyTorch
        for seconds, printed, reference_seconds in (
            (afresh, ratio, hydra_afresh),
            (again, ratio_again, hydra_again),
        ):
            assert _within_rounding(float(seconds), float(printed), reference_seconds)


def _within_rounding(seconds: float, ratio: float, reference: float) -> bool:
    """Whether `ratio` is the ratio of two times that print, to 0.01 s, as these two."""
    low = (seconds - 0.005) / (reference + 0.005)
    high = (seconds + 0.005) / max(reference - 0.005, 1e-9)
    return low - 0.005 <= ratio <= high + 0.005
