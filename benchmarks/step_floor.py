"""Where the reference training step's time goes: its oneDNN work, the other kernels, the rest.

    python benchmarks/step_floor.py
    python benchmarks/step_floor.py --blocks 10 --block 50 --precision fp32

One eager training step of the reference model (the default config's network,
loss, RMSprop and precision, batch 16) is recorded below autograd and autocast
(`TorchDispatchMode`): every ATen operation it runs, with its real inputs.
Replaying the convolutions, convolution backwards and matrix products alone
is the part of the step that oneDNN computes; everything else (element-wise
work, casts, autograd, the optimizer, Python) is what fusing or compiling
could remove, and the step over the oneDNN part is the speed-up that removing
all of it would give. Replaying every operation, and every operation
but oneDNN's, bounds what runs between the kernels (autograd's engine,
autocast's and the dispatcher's work, Python): the step less all its kernels.
A replayed call reads its own copy of its inputs rather than the output its
predecessor just wrote, so replays err on the slow side: the speed-up printed
is a lower bound, and so is the time between the kernels.
The ways alternate in blocks of `--block` steps in one process, so that all
see the same drift of this machine's speed, and their medians are printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode

import vae_exp
from vae_exp.foundation.process import tune_for_training
from vae_exp.pipeline.building import build

BATCH = 16
ONEDNN_OPS = {
    torch.ops.aten.convolution.default: "convolution",
    torch.ops.aten.convolution_backward.default: "convolution backward",
    torch.ops.aten.mm.default: "matrix product",
    torch.ops.aten.addmm.default: "matrix product",
}


class _Recorder(TorchDispatchMode):
    """Keeps each ATen call of one step with copies of its arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[object, tuple, dict]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.namespace == "aten":  # not the profiler's own markers
            keep = torch.utils._pytree.tree_map_only(
                torch.Tensor, torch.Tensor.clone, (args, kwargs)
            )
            self.calls.append((func, *keep))
        return func(*args, **kwargs)


def _training_step(bf16: bool) -> Callable[[], None]:
    cfg = vae_exp.compose(["paths.run_dir=/tmp/vae-exp-step-floor"])
    torch.manual_seed(0)
    model = build(cfg.model, "model", image_shape=[1, 28, 28])
    optimizer = model.configure_optimizers()
    model.train()
    generator = torch.Generator().manual_seed(1)
    images = (torch.rand(BATCH, 1, 28, 28, generator=generator) > 0.5).float()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model.loss_terms(images, None, model.kl_scale()).loss
        loss.backward()
        optimizer.step()

    return step


def _replay(calls: list[tuple[object, tuple, dict]]) -> Callable[[], None]:
    def step() -> None:
        with torch.no_grad():
            for func, args, kwargs in calls:
                func(*args, **kwargs)

    return step


def _milliseconds(step: Callable[[], None], steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", choices=["bf16", "fp32"], default="bf16")
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--block", type=int, default=50, help="steps per block")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    tune_for_training()
    step = _training_step(args.precision == "bf16")
    for _ in range(30):  # past the optimizer's first steps and oneDNN's first calls
        step()
    recorder = _Recorder()
    with recorder:
        step()
    onednn = [call for call in recorder.calls if call[0] in ONEDNN_OPS]
    others = [call for call in recorder.calls if call[0] not in ONEDNN_OPS]
    ways = {
        "step": step,
        "oneDNN alone": _replay(onednn),
        "every ATen call": _replay(recorder.calls),
        "the other ATen calls": _replay(others),
    }
    for way in list(ways.values())[1:]:
        for _ in range(10):
            way()
    counts: dict[str, int] = {}
    for func, *_ in onednn:
        counts[ONEDNN_OPS[func]] = counts.get(ONEDNN_OPS[func], 0) + 1
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, "
        f"{args.precision}; oneDNN calls in one step: {counts}"
    )
    times: dict[str, list[float]] = {way: [] for way in ways}
    for n in range(args.blocks):
        order = list(ways) if n % 2 == 0 else list(reversed(ways))
        for way in order:
            times[way].append(_milliseconds(ways[way], args.block))
    whole, alone, every, other = (statistics.median(times[way]) for way in ways)
    print(
        f"whole step {whole:6.2f} ms, its oneDNN calls alone {alone:6.2f} ms "
        f"({alone / whole:.0%} of the step): without the rest {whole / alone:.2f}x faster or more"
    )
    print(
        f"all {len(recorder.calls)} ATen calls replayed {every:6.2f} ms "
        f"({every / whole:.0%} of the step), the {len(others)} other than oneDNN's "
        f"{other:6.2f} ms; between the kernels {max(whole - every, 0.0):.2f} ms or more"
    )
    for way, values in times.items():
        print(f"  blocks, {way}: {[round(v, 2) for v in values]}")


if __name__ == "__main__":
    main()
