"""The reference run, whole process against whole process: vae-exp beside the blog's Keras program.

    python benchmarks/versus_keras.py --keras-python /tmp/keras-venv/bin/python
    python benchmarks/versus_keras.py --keras-python PYTHON --repeats 3 --vae-exp-args seed=1

The Keras program is `../shared/keras_seed/seed_keras.py` (the blog's code, set up
in its own virtual environment as its README says). The two programs run
alternately, each in a fresh process, `--repeats` times each, because this
machine's speed drifts over minutes. For each it prints the median whole-process
wall time, the median epoch (training with validation), the training images per
second, the peak resident memory and the final validation loss, and last the
ratio of Keras's whole-process time to vae-exp's (above 1: vae-exp is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vae_exp.runs.layout import LOG_FILE

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KERAS_PROGRAM = PROJECT_ROOT.parent / "shared" / "keras_seed" / "seed_keras.py"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"  # where the Keras program reads MNIST
_EPOCH_LINE = re.compile(r"Epoch \d+/\d+ .*val/loss (\S+).*\((\d+\.\d+) s\)")


def _run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident MB and output of one process, its own rusage only."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{output[-3000:]}")
    return wall, usage.ru_maxrss / 1024, output


def run_keras(python: str, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        env = {
            **os.environ,
            "TF_USE_LEGACY_KERAS": "1",
            "SEED_OUT": out,
            "SEED_EPOCHS": str(epochs),
        }
        wall, peak, output = _run([python, str(KERAS_PROGRAM)], env)
    summary = next(line for line in output.splitlines() if line.startswith("HARNESS_SUMMARY "))
    found = json.loads(summary.split(" ", 1)[1])
    return {
        "wall_s": wall,
        "peak_mb": peak,
        "epoch_s": [epoch["epoch_s"] for epoch in found["epochs_detail"]],
        "val_loss": found["final_val_loss"],
        "training_images": found["n_train"],
    }


def run_vae_exp(epochs: int, data_dir: str, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            sys.executable,
            "-m",
            "vae_exp.train",
            f"trainer.max_epochs={epochs}",
            f"paths.data_dir={data_dir}",
            "data.source=full",
            *extra,
        ]
        wall, peak, _ = _run(command, {**os.environ, "VAE_EXP_OUTPUT_DIR": scratch})
        log = next(Path(scratch).rglob(LOG_FILE)).read_text()
    epochs_found = [(float(loss), float(seconds)) for loss, seconds in _EPOCH_LINE.findall(log)]
    return {
        "wall_s": wall,
        "peak_mb": peak,
        "epoch_s": [seconds for _, seconds in epochs_found],
        "val_loss": epochs_found[-1][0],
    }


def _summary(name: str, runs: list[dict], training_images: int) -> dict:
    """Medians over all runs; images/s: training images per epoch over the epoch's time."""
    epoch = statistics.median(s for run in runs for s in run["epoch_s"])
    return {
        "program": name,
        "wall_s": statistics.median(run["wall_s"] for run in runs),
        "walls": [round(run["wall_s"], 1) for run in runs],
        "epoch_s": epoch,
        "images_per_s": training_images / epoch,
        "peak_mb": max(run["peak_mb"] for run in runs),
        "val_loss": [round(run["val_loss"], 4) for run in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--keras-python", required=True, help="the Keras environment's python")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each program (median)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data-dir", default=os.environ.get("VAE_EXP_DATA_DIR", str(SHARED_DATA)))
    parser.add_argument("--vae-exp-args", nargs="*", default=[], help="overrides for vae-exp")
    args = parser.parse_args()

    runs: dict[str, list[dict]] = {"keras": [], "vae-exp": []}
    for repeat in range(args.repeats):
        runs["keras"].append(run_keras(args.keras_python, args.epochs))
        runs["vae-exp"].append(run_vae_exp(args.epochs, args.data_dir, args.vae_exp_args))
        keras, ours = runs["keras"][-1], runs["vae-exp"][-1]
        print(
            f"repeat {repeat + 1}: keras {keras['wall_s']:.1f} s (epoch "
            f"{statistics.median(keras['epoch_s']):.2f} s), vae-exp {ours['wall_s']:.1f} s "
            f"(epoch {statistics.median(ours['epoch_s']):.2f} s); pair ratios: whole "
            f"{keras['wall_s'] / ours['wall_s']:.2f}, epoch "
            f"{statistics.median(keras['epoch_s']) / statistics.median(ours['epoch_s']):.2f}",
            flush=True,
        )
    print(
        f"{'program':8} {'whole s':>8} {'epoch s':>8} {'img/s':>6} {'peak MB':>8}  "
        "val/loss  (each run: whole s)"
    )
    training_images = runs["keras"][0]["training_images"]
    summaries = {name: _summary(name, found, training_images) for name, found in runs.items()}
    for s in summaries.values():
        print(
            f"{s['program']:8} {s['wall_s']:8.1f} {s['epoch_s']:8.2f} {s['images_per_s']:6.0f} "
            f"{s['peak_mb']:8.0f}  {s['val_loss']}  {s['walls']}"
        )
    ratio = summaries["keras"]["wall_s"] / summaries["vae-exp"]["wall_s"]
    print(f"speed of vae-exp relative to Keras, whole process: {ratio:.2f}x")
    epoch_ratio = summaries["keras"]["epoch_s"] / summaries["vae-exp"]["epoch_s"]
    print(f"speed of vae-exp relative to Keras, epoch (median of all epochs): {epoch_ratio:.2f}x")


if __name__ == "__main__":
    main()
