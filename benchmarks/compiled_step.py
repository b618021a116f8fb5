"""The reference training step compiled with `torch.compile` against eager, in one process.

    python benchmarks/compiled_step.py                       # the default precision, then float32
    python benchmarks/compiled_step.py --precisions bf16 --blocks 8 --block 50

Two copies of the reference model (the default config's, same initial weights)
train on the same batches of 16: one eager, one whose loss (forward with its
likelihood and KL terms) and `optimizer.step()` are compiled by inductor, the
backward pass compiled with it by AOTAutograd. The first compiled steps are
timed apart (the compile time, which every run would pay unless cached). Then
the two alternate in blocks of `--block` steps, so that both see the same drift
of this machine's speed; the medians of the blocks' images per second and
their ratio are printed, with the largest difference of the two copies' losses
over the first steps (how exact the compiled step is).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings
from collections.abc import Callable

import torch

import vae_exp
from vae_exp.foundation.process import tune_for_training
from vae_exp.pipeline.building import build

BATCH = 16


def _model_and_optimizer() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    cfg = vae_exp.compose(["paths.run_dir=/tmp/vae-exp-compiled-step"])
    torch.manual_seed(0)
    model = build(cfg.model, "model", image_shape=[1, 28, 28])
    optimizers = model.configure_optimizers()
    if isinstance(optimizers, dict):
        optimizers = optimizers["optimizer"]
    if isinstance(optimizers, (list, tuple)):
        optimizers = optimizers[0]
        optimizers = optimizers[0] if isinstance(optimizers, (list, tuple)) else optimizers
    return model, optimizers


def _step(model, optimizer, bf16: bool, compiled: bool) -> Callable[[torch.Tensor], float]:
    def loss_of(images: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model.loss_terms(images, None, model.kl_scale()).loss

    optimizer_step = optimizer.step
    if compiled:
        loss_of = torch.compile(loss_of)
        optimizer_step = torch.compile(optimizer.step)

    def step(images: torch.Tensor) -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_of(images)
        loss.backward()
        optimizer_step()
        return float(loss.detach())

    return step


def _rate(step: Callable[[torch.Tensor], float], batches: list[torch.Tensor]) -> float:
    started = time.perf_counter()
    for images in batches:
        step(images)
    return len(batches) * BATCH / (time.perf_counter() - started)


def measure(precision: str, blocks: int, block: int) -> None:
    bf16 = precision == "bf16"
    eager_model, eager_optimizer = _model_and_optimizer()
    compiled_model = copy.deepcopy(eager_model)
    compiled_optimizer = type(eager_optimizer)(
        compiled_model.parameters(), **eager_optimizer.defaults
    )
    eager = _step(eager_model, eager_optimizer, bf16, compiled=False)
    compiled = _step(compiled_model, compiled_optimizer, bf16, compiled=True)
    generator = torch.Generator().manual_seed(1)
    batches = [(torch.rand(BATCH, 1, 28, 28, generator=generator) > 0.5).float()]
    batches *= block

    started = time.perf_counter()
    first = [compiled(images) for images in batches[:3]]
    compile_s = time.perf_counter() - started
    reference = [eager(images) for images in batches[:3]]
    difference = max(abs(a - b) for a, b in zip(first, reference, strict=True))

    rates: dict[str, list[float]] = {"eager": [], "compiled": []}
    for n in range(blocks):
        order = ("eager", "compiled") if n % 2 == 0 else ("compiled", "eager")
        for way in order:
            rates[way].append(_rate(eager if way == "eager" else compiled, batches))
    eager_rate, compiled_rate = (statistics.median(rates[w]) for w in ("eager", "compiled"))
    print(
        f"{precision:>5}: compile {compile_s:5.1f} s; eager {eager_rate:6.0f} images/s, "
        f"compiled {compiled_rate:6.0f} images/s, ratio {compiled_rate / eager_rate:4.2f}; "
        f"largest loss difference over the first 3 steps {difference:.2e}",
        flush=True,
    )
    print(f"       blocks, eager: {[round(r) for r in rates['eager']]}")
    print(f"       blocks, compiled: {[round(r) for r in rates['compiled']]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precisions", nargs="+", default=["bf16", "fp32"])
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--block", type=int, default=50, help="steps per block")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    tune_for_training()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}")
    for precision in args.precisions:
        measure(precision, args.blocks, args.block)


if __name__ == "__main__":
    main()
