"""Training throughput: vae-exp's own training path against a plain PyTorch loop, in one run.

    python benchmarks/throughput.py         # the reference model at batch 16, the MLP at 100
    python benchmarks/throughput.py --models reference --batch-sizes 16 64 --steps 400 --repeats 3

For each model and batch size it trains for a fixed number of steps two ways,
on the same data, with the same model, loss, optimizer and precision (the
default config's `trainer.precision`):

  (a) vae-exp: its DataModule, LightningModule and Trainer, configured by the
      default config (default callbacks, TensorBoard logging, progress bar);
  (b) plain: a minimal PyTorch loop over tensors already in memory.

Models: `reference` (the blog's convolutional VAE, default batch 16) and `mlp`
(the `experiment=vae_binarized` preset: the 784-400-40 MLP on all ten digits,
dynamically binarised, Adam; default batch 100), whose small steps expose a
framework's per-step overhead. Each measurement runs in a fresh process (so
each has its own peak memory), the two ways alternate, and the first
`--warmup` steps are not timed. It prints images per second for each, the
ratio (a)/(b) and the peak resident memory. It is the training steps that are
compared: vae-exp's work between epochs (one validation batch, the pictures,
the checkpoints) is not timed, as the plain loop has none; `versus_keras.py`
times whole runs.
"""

from __future__ import annotations

import argparse
import contextlib
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
# Each model's overrides, batch size and timed steps (a few seconds of training each).
MODELS = {"reference": ((), 16, 400), "mlp": (("experiment=vae_binarized",), 100, 1500)}


def _config(model: str, batch_size: int, data_dir: str | None, extra: tuple[str, ...] = ()):
    import vae_exp

    overrides = [*MODELS[model][0], f"data.batch_size={batch_size}", "trainer.accelerator=cpu"]
    if data_dir:
        overrides.append(f"paths.data_dir={data_dir}")
    return vae_exp.compose(overrides + list(extra))


def run_plain(
    model_name: str, batch_size: int, steps: int, warmup: int, data_dir: str | None
) -> float:
    """Images per second of a minimal PyTorch training loop."""
    import torch
    from hydra.utils import instantiate

    cfg = _config(model_name, batch_size, data_dir)  # compose registers the resolvers
    torch.manual_seed(0)
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    images = datamodule.train_set.tensors[0]
    binarize = cfg.data.binarize == "dynamic"
    model = instantiate(cfg.model)
    model.train()
    optimizer = model.configure_optimizers()
    mixed = str(cfg.trainer.precision) == "bf16-mixed"
    order = torch.randperm(len(images))
    started = None
    for step in range(warmup + steps):
        if step == warmup:
            started = time.perf_counter()
        start = (step * batch_size) % max(1, len(images) - batch_size)
        x = images[order[start : start + batch_size]]
        if binarize:
            x = torch.bernoulli(x)
        autocast = (
            torch.autocast("cpu", dtype=torch.bfloat16) if mixed else contextlib.nullcontext()
        )
        with autocast:
            loss = model.loss_terms(x).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch_size / (time.perf_counter() - started)


class StepTimer(pl.Callback):
    """Times the training steps after the warm-up, and not the work between epochs.

    Between epochs a run validates, draws its pictures and saves checkpoints;
    the plain loop does none of that, and `versus_keras.py` times it with the
    rest of the run. Added to the run through the config.
    """

    def __init__(self, warmup: int, steps: int, result_file: str) -> None:
        self.warmup, self.steps, self.result_file = warmup, steps, result_file
        self.elapsed = 0.0
        self.started: float | None = None

    def _pause(self) -> None:
        if self.started is not None:
            self.elapsed += time.perf_counter() - self.started
            self.started = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step >= self.warmup and self.started is None:
            self.started = time.perf_counter()

    def on_validation_start(self, trainer, pl_module):
        self._pause()

    def on_train_epoch_end(self, trainer, pl_module):
        self._pause()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.warmup + self.steps:
            self._pause()
            Path(self.result_file).write_text(json.dumps({"elapsed": self.elapsed}))


def run_framework(
    model_name: str,
    batch_size: int,
    steps: int,
    warmup: int,
    data_dir: str | None,
    extra: tuple[str, ...] = (),
) -> float:
    """Images per second of `vae-exp-train`'s training path.

    The model's config, plus the overrides in `extra` (for finding where time goes).
    """
    from vae_exp.training import train

    with tempfile.TemporaryDirectory() as scratch:
        result_file = Path(scratch) / "timing.json"
        overrides = [
            f"paths.run_dir={scratch}/run",
            "trainer.max_epochs=1000",
            f"+trainer.max_steps={warmup + steps}",
            "trainer.limit_val_batches=1",  # one validation batch an epoch, not timed
            "+callbacks.step_timer._target_=throughput.StepTimer",
            f"+callbacks.step_timer.warmup={warmup}",
            f"+callbacks.step_timer.steps={steps}",
            f"+callbacks.step_timer.result_file={result_file}",
        ]
        train(_config(model_name, batch_size, data_dir, (*overrides, *extra)))
        elapsed = json.loads(result_file.read_text())["elapsed"]
    return steps * batch_size / elapsed


def _one(args: argparse.Namespace) -> None:
    from vae_exp.cli.startup import tune_for_training

    tune_for_training()  # as the training command does, for both ways
    run = run_plain if args.one == "plain" else run_framework
    rate = run(args.models[0], args.batch_sizes[0], args.steps, args.warmup, args.data_dir)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"images_per_s": rate, "peak_rss_mb": peak_mb}))


def _measure(way: str, model: str, batch_size: int, steps: int, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--one",
        way,
        "--models",
        model,
        "--batch-sizes",
        str(batch_size),
        "--steps",
        str(steps),
        "--warmup",
        str(args.warmup),
    ]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    result = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{way} {model} at batch {batch_size} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", help="default: each model's own (16, 100)"
    )
    parser.add_argument(
        "--steps", type=int, help="timed steps per measurement (default: 400, 1500)"
    )
    parser.add_argument("--warmup", type=int, default=15, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=2, help="measurements of each way (median)")
    parser.add_argument("--data-dir", default=os.environ.get("VAE_EXP_DATA_DIR"))
    parser.add_argument("--one", choices=["plain", "framework"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args)
        return

    print(
        f"{'model':>9} {'batch':>6} {'vae-exp img/s':>14} {'plain img/s':>12} {'ratio':>6} "
        f"{'vae-exp MB':>11} {'plain MB':>9}"
    )
    cases = [(m, b) for m in args.models for b in (args.batch_sizes or [MODELS[m][1]])]
    for model, batch_size in cases:
        steps = args.steps or MODELS[model][2]
        runs: dict[str, list[dict]] = {"framework": [], "plain": []}
        for _ in range(args.repeats):
            for way in ("plain", "framework"):
                runs[way].append(_measure(way, model, batch_size, steps, args))
        rate = {w: statistics.median(r["images_per_s"] for r in runs[w]) for w in runs}
        peak = {w: max(r["peak_rss_mb"] for r in runs[w]) for w in runs}
        print(
            f"{model:>9} {batch_size:6d} {rate['framework']:14.0f} {rate['plain']:12.0f} "
            f"{rate['framework'] / rate['plain']:6.2f} "
            f"{peak['framework']:11.0f} {peak['plain']:9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
