"""Training throughput: vae-exp's own training path against a plain PyTorch loop, in one run.

    python benchmarks/throughput.py                       # batch sizes 16, 64, 256
    python benchmarks/throughput.py --batch-sizes 16 --steps 400 --repeats 3

For each batch size it trains the reference model for a fixed number of steps
two ways, on the same data (MNIST digits 1 and 8, or the packaged sample when
the full set is missing) and with the same model, loss and optimizer:

  (a) vae-exp: its DataModule, LightningModule and Trainer, configured by the
      default config (default callbacks, TensorBoard logging, progress bar);
  (b) plain: a minimal PyTorch loop over tensors already in memory.

Each measurement runs in a fresh process (so each has its own peak memory), the
two ways alternate, and the first `--warmup` steps are not timed. It prints
images per second for each, the ratio (a)/(b) and the peak resident memory.
Validation is switched off in both: it is training speed that is compared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _reference_data(data_dir: str | None):
    from vae_exp.data import MNISTDigitsDataModule
    from vae_exp.runs.locations import DATA_DIR_ENV, default_data_dir

    datamodule = MNISTDigitsDataModule(
        digits=(1, 8), data_dir=data_dir or os.environ.get(DATA_DIR_ENV) or default_data_dir()
    )
    datamodule.setup()
    return datamodule


def run_plain(batch_size: int, steps: int, warmup: int, data_dir: str | None) -> float:
    """Images per second of a minimal PyTorch training loop."""
    import torch

    from vae_exp.models import VAE

    torch.manual_seed(0)
    images = _reference_data(data_dir).train_set.tensors[0]
    model = VAE()
    model.train()
    optimizer = model.configure_optimizers()  # the reference RMSprop
    order = torch.randperm(len(images))
    started = None
    for step in range(warmup + steps):
        if step == warmup:
            started = time.perf_counter()
        start = (step * batch_size) % max(1, len(images) - batch_size)
        x = images[order[start : start + batch_size]]
        loss = model.loss_terms(x).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch_size / (time.perf_counter() - started)


class StepTimer(pl.Callback):
    """Times the training steps after the warm-up; added to the run through the config."""

    def __init__(self, warmup: int, steps: int, result_file: str) -> None:
        self.warmup, self.steps, self.result_file = warmup, steps, result_file
        self.started = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.warmup:
            self.started = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.warmup + self.steps:
            elapsed = time.perf_counter() - self.started
            Path(self.result_file).write_text(json.dumps({"elapsed": elapsed}))


def run_framework(
    batch_size: int, steps: int, warmup: int, data_dir: str | None, extra: tuple[str, ...] = ()
) -> float:
    """Images per second of `vae-exp-train`'s training path.

    The default config, plus the overrides in `extra` (for finding where time goes).
    """
    import vae_exp
    from vae_exp.training import train

    with tempfile.TemporaryDirectory() as scratch:
        result_file = Path(scratch) / "timing.json"
        overrides = [
            f"paths.run_dir={scratch}/run",
            f"data.batch_size={batch_size}",
            "trainer.max_epochs=1000",
            f"+trainer.max_steps={warmup + steps}",
            "trainer.limit_val_batches=0",
            "trainer.accelerator=cpu",
            "+callbacks.step_timer._target_=throughput.StepTimer",
            f"+callbacks.step_timer.warmup={warmup}",
            f"+callbacks.step_timer.steps={steps}",
            f"+callbacks.step_timer.result_file={result_file}",
        ]
        if data_dir:
            overrides.append(f"data.data_dir={data_dir}")
        overrides += extra
        train(vae_exp.compose(overrides))
        elapsed = json.loads(result_file.read_text())["elapsed"]
    return steps * batch_size / elapsed


def _one(args: argparse.Namespace) -> None:
    run = run_plain if args.one == "plain" else run_framework
    rate = run(args.batch_sizes[0], args.steps, args.warmup, args.data_dir)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"images_per_s": rate, "peak_rss_mb": peak_mb}))


def _measure(way: str, batch_size: int, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--one",
        way,
        "--batch-sizes",
        str(batch_size),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
    ]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    result = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{way} at batch {batch_size} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--steps", type=int, default=150, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=15, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=2, help="measurements of each way (median)")
    parser.add_argument("--data-dir", default=os.environ.get("VAE_EXP_DATA_DIR"))
    parser.add_argument("--one", choices=["plain", "framework"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args)
        return

    print(
        f"{'batch':>6} {'vae-exp img/s':>14} {'plain img/s':>12} {'ratio':>6} "
        f"{'vae-exp MB':>11} {'plain MB':>9}"
    )
    for batch_size in args.batch_sizes:
        runs: dict[str, list[dict]] = {"framework": [], "plain": []}
        for _ in range(args.repeats):
            for way in ("plain", "framework"):
                runs[way].append(_measure(way, batch_size, args))
        rate = {w: statistics.median(r["images_per_s"] for r in runs[w]) for w in runs}
        peak = {w: max(r["peak_rss_mb"] for r in runs[w]) for w in runs}
        print(
            f"{batch_size:6d} {rate['framework']:14.0f} {rate['plain']:12.0f} "
            f"{rate['framework'] / rate['plain']:6.2f} "
            f"{peak['framework']:11.0f} {peak['plain']:9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
