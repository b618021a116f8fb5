"""Training throughput: vae-exp's own training path against a plain PyTorch loop, in one run.

    python benchmarks/throughput.py         # the reference model at batch 16, the MLP at 100
    python benchmarks/throughput.py --models reference --batch-sizes 16 64 --steps 400 --repeats 5
    python benchmarks/throughput.py --models mlp --overrides callbacks=none logger=none

For each model and batch size it trains two ways, on the same data, with the
same model, loss, optimizer, binarisation and precision (the default config's
`trainer.precision`):

  (a) vae-exp: its DataModule, LightningModule and Trainer, configured by the
      default config (default callbacks, TensorBoard logging, progress bar);
  (b) plain: a minimal PyTorch loop over tensors already in memory, on its own
      copy of the model.

Models: `reference` (the blog's convolutional VAE, default batch 16) and `mlp`
(the `experiment=vae_binarized` preset: the 784-400-40 MLP on all ten digits,
dynamically binarised, Adam; default batch 100), whose small steps expose a
framework's per-step overhead.

The two ways alternate in blocks of `--block` steps inside one process: a
callback of the vae-exp run times its steps, and after each block runs as many
steps of the plain loop. This machine's speed drifts by up to a third over
minutes; in blocks of a fraction of a second both ways see the same drift, so
their ratio holds still where separate processes' did not. Each repeat is a
fresh process; the row shows the repeat with the median ratio. The first
`--warmup` steps of each way are not timed, nor is vae-exp's work between
epochs (one validation batch, the pictures, the checkpoints), which the plain
loop has none of; `versus_keras.py` times whole runs. The peak resident memory
of each way comes from one more process per way that trains it alone.

`--overrides` changes the vae-exp run's config (callbacks, logger, progress
bar...) to see what each part of the framework costs per step.
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


def _run_overrides(scratch: str, max_steps: int) -> list[str]:
    """A vae-exp run of `max_steps` steps in `scratch`, one validation batch an epoch."""
    return [
        f"paths.run_dir={scratch}/run",
        "trainer.max_epochs=1000",
        f"+trainer.max_steps={max_steps}",
        "trainer.limit_val_batches=1",
    ]


def _config(model: str, batch_size: int, data_dir: str | None, extra: tuple[str, ...] = ()):
    import vae_exp

    overrides = [*MODELS[model][0], f"data.batch_size={batch_size}", "trainer.accelerator=cpu"]
    if data_dir:
        overrides.append(f"paths.data_dir={data_dir}")
    return vae_exp.compose(overrides + list(extra))


class PlainLoop:
    """The loop a PyTorch user writes: index a shuffled tensor, forward, backward, step."""

    def __init__(self, model_name: str, batch_size: int, data_dir: str | None) -> None:
        import torch
        from hydra.utils import instantiate

        cfg = _config(model_name, batch_size, data_dir)  # compose registers the resolvers
        torch.manual_seed(0)
        datamodule = instantiate(cfg.data)
        datamodule.setup()
        self.images = datamodule.train_set.tensors[0]
        self.binarize = cfg.data.binarize == "dynamic"
        self.model = instantiate(cfg.model)
        self.model.train()
        self.optimizer = self.model.configure_optimizers()
        self.mixed = str(cfg.trainer.precision) == "bf16-mixed"
        self.order = torch.randperm(len(self.images))
        self.batch_size = batch_size
        self.done = 0

    def train(self, steps: int) -> None:
        import torch

        from vae_exp.data.binarization import fresh_draw

        with torch.enable_grad():
            for _ in range(steps):
                start = (self.done * self.batch_size) % max(1, len(self.images) - self.batch_size)
                self.done += 1
                x = self.images[self.order[start : start + self.batch_size]]
                if self.binarize:
                    x = fresh_draw(x)
                autocast = (
                    torch.autocast("cpu", dtype=torch.bfloat16)
                    if self.mixed
                    else contextlib.nullcontext()
                )
                with autocast:
                    loss = self.model.loss_terms(x).loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()


class Interleaved(pl.Callback):
    """Times the run's training steps in blocks, with a block of plain-loop steps after each.

    The run's time is counted from the end of one plain block to the end of
    the run's next block, so it holds the run's fetching, hooks and logging;
    it pauses from the start of validation to the next training batch.
    Added to the run through the config.
    """

    def __init__(
        self,
        model: str,
        batch_size: int,
        data_dir: str | None,
        warmup: int,
        steps: int,
        block: int,
        result_file: str,
    ) -> None:
        self.plain = PlainLoop(model, batch_size, data_dir)
        self.warmup, self.steps, self.block = warmup, steps, block
        self.result_file = result_file
        self.elapsed = {"framework": 0.0, "plain": 0.0}
        self.timed_steps = 0
        self.started: float | None = None

    def _pause(self) -> None:
        if self.started is not None:
            self.elapsed["framework"] += time.perf_counter() - self.started
            self.started = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step >= self.warmup and self.started is None:
            if self.plain.done < self.warmup:  # the plain loop's own warm-up, once
                self.plain.train(self.warmup)
            self.started = time.perf_counter()

    def on_validation_start(self, trainer, pl_module):
        self._pause()

    def on_train_epoch_end(self, trainer, pl_module):
        self._pause()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.started is None:
            return
        self.timed_steps += 1
        last = self.timed_steps == self.steps
        if self.timed_steps % self.block and not last:
            return
        self._pause()
        started = time.perf_counter()
        self.plain.train(self.timed_steps - (self.plain.done - self.warmup))
        self.elapsed["plain"] += time.perf_counter() - started
        if last:
            Path(self.result_file).write_text(json.dumps(self.elapsed))
            trainer.should_stop = True
        else:
            self.started = time.perf_counter()


def run_interleaved(
    model_name: str,
    batch_size: int,
    steps: int,
    warmup: int,
    block: int,
    data_dir: str | None,
    extra: tuple[str, ...] = (),
) -> dict[str, float]:
    """Images per second of both ways, alternating in blocks within `vae-exp-train`'s run."""
    from vae_exp import fit as train

    with tempfile.TemporaryDirectory() as scratch:
        result_file = Path(scratch) / "timing.json"
        callback = {
            "_target_": "throughput.Interleaved",
            "model": model_name,
            "batch_size": batch_size,
            "data_dir": data_dir,
            "warmup": warmup,
            "steps": steps,
            "block": block,
            "result_file": str(result_file),
        }
        overrides = [
            *_run_overrides(scratch, warmup + steps),
            *extra,
            *(f"+callbacks.interleaved.{key}={json.dumps(v)}" for key, v in callback.items()),
        ]
        train(_config(model_name, batch_size, data_dir, tuple(overrides)))
        elapsed = json.loads(result_file.read_text())
    return {way: steps * batch_size / seconds for way, seconds in elapsed.items()}


def run_alone(
    way: str,
    model_name: str,
    batch_size: int,
    steps: int,
    data_dir: str | None,
    extra: tuple[str, ...] = (),
) -> None:
    """One way's training alone, for its peak memory."""
    if way == "plain":
        PlainLoop(model_name, batch_size, data_dir).train(steps)
        return
    from vae_exp import fit as train

    with tempfile.TemporaryDirectory() as scratch:
        train(_config(model_name, batch_size, data_dir, (*_run_overrides(scratch, steps), *extra)))


def _one(args: argparse.Namespace) -> None:
    from vae_exp.foundation.process import tune_for_training

    tune_for_training()  # as the training command does, for both ways
    model, batch_size = args.models[0], args.batch_sizes[0]
    result: dict[str, float] = {}
    if args.one == "interleaved":
        result = run_interleaved(
            model, batch_size, args.steps, args.warmup, args.block, args.data_dir, args.overrides
        )
    else:
        steps = args.warmup + args.steps
        run_alone(args.one, model, batch_size, steps, args.data_dir, args.overrides)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _measure(way: str, model: str, batch_size: int, steps: int, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--one", way, "--models", model]
    command += ["--batch-sizes", str(batch_size), "--steps", str(steps)]
    command += ["--warmup", str(args.warmup), "--block", str(args.block)]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    if args.overrides:
        command += ["--overrides", *args.overrides]
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
    parser.add_argument("--steps", type=int, help="timed steps of each way (default: 400, 1500)")
    parser.add_argument("--warmup", type=int, default=15, help="untimed steps first")
    parser.add_argument("--block", type=int, default=25, help="steps of one way before the other")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs (the median)")
    parser.add_argument("--data-dir", default=os.environ.get("VAE_EXP_DATA_DIR"))
    parser.add_argument(
        "--overrides", nargs="+", default=(), help="config overrides of the vae-exp run"
    )
    parser.add_argument(
        "--one", choices=["interleaved", "plain", "framework"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    args.overrides = tuple(args.overrides)
    if args.one:
        _one(args)
        return

    print(
        f"{'model':>9} {'batch':>6} {'vae-exp img/s':>14} {'plain img/s':>12} {'ratio':>6} "
        f"{'vae-exp MB':>11} {'plain MB':>9}  ratios"
    )
    cases = [(m, b) for m in args.models for b in (args.batch_sizes or [MODELS[m][1]])]
    for model, batch_size in cases:
        steps = args.steps or MODELS[model][2]
        repeats = [
            _measure("interleaved", model, batch_size, steps, args) for _ in range(args.repeats)
        ]
        for rates in repeats:
            rates["ratio"] = rates["framework"] / rates["plain"]
        middle = statistics.median_low(r["ratio"] for r in repeats)
        rates = next(r for r in repeats if r["ratio"] == middle)
        alone = ("framework", "plain")
        peak = {way: _measure(way, model, batch_size, steps, args) for way in alone}
        print(
            f"{model:>9} {batch_size:6d} {rates['framework']:14.0f} {rates['plain']:12.0f} "
            f"{rates['ratio']:6.2f} {peak['framework']['peak_rss_mb']:11.0f} "
            f"{peak['plain']['peak_rss_mb']:9.0f}  "
            + " ".join(f"{r['ratio']:.3f}" for r in repeats),
            flush=True,
        )


if __name__ == "__main__":
    main()
