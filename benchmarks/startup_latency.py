"""How long `vae-exp-train` takes from the command to its first training step.

    python benchmarks/startup_latency.py                      # this checkout
    python benchmarks/startup_latency.py --other /path/to/other/checkout --repeats 5

Each run is a fresh `python -m vae_exp.train` process of the reference
experiment (callbacks and TensorBoard as by default) whose callback
`FirstStep` writes the wall-clock time of the first training batch and stops
the run there. With `--other`, the checkout given runs the same, alternating,
and the ratio of the medians is printed (the figure is the other's over this).
The data are read from `VAE_EXP_DATA_DIR` when it is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent


class FirstStep(pl.Callback):
    """Writes the time of the first training step into `marker`, then ends the run."""

    def __init__(self, marker: str) -> None:
        self.marker = Path(marker)

    def on_train_batch_start(self, trainer: pl.Trainer, *args: object) -> None:
        self.marker.write_text(repr(time.time()))
        trainer.should_stop = True
        os._exit(0)  # the time to the first step is measured; nothing after it matters


def first_step_seconds(checkout: Path, scratch: Path, overrides: tuple[str, ...] = ()) -> float:
    """Seconds from starting the command to its first training step, in a fresh process.

    `overrides` change the reference run (another data set, say).
    """
    marker = scratch / "first_step"
    marker.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join((str(checkout), str(HERE))),
        "VAE_EXP_OUTPUT_DIR": str(scratch / "outputs"),
    }
    command = [
        sys.executable,
        "-m",
        "vae_exp.train",
        "trainer.enable_progress_bar=false",
        "+callbacks.first_step._target_=startup_latency.FirstStep",
        f"+callbacks.first_step.marker={marker}",
        *overrides,
    ]
    started = time.time()
    subprocess.run(command, env=env, cwd=scratch, capture_output=True, check=False)
    if not marker.exists():
        raise SystemExit(f"{checkout}: the run did not reach its first step")
    return float(marker.read_text()) - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each checkout (default 5)")
    parser.add_argument("--other", type=Path, help="another checkout to compare, alternating")
    args = parser.parse_args()
    checkouts = {"this checkout": CHECKOUT}
    if args.other:
        checkouts["other"] = args.other.resolve()
    seconds: dict[str, list[float]] = {name: [] for name in checkouts}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.repeats):
            for name, checkout in checkouts.items():
                seconds[name].append(first_step_seconds(checkout, Path(scratch)))
    print(f"{'checkout':16} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, values in seconds.items():
        print(f"{name:16} {statistics.median(values):9.2f} {min(values):7.2f} {max(values):7.2f}")
    if args.other:
        ratio = statistics.median(seconds["other"]) / statistics.median(seconds["this checkout"])
        print(f"other / this checkout: {ratio:.2f}")


if __name__ == "__main__":
    main()
