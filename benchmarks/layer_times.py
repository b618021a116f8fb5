"""Forward and backward time of each convolution of the reference model, by precision.

    python benchmarks/layer_times.py
    python benchmarks/layer_times.py --batch-size 64 --repeats 400

Times each layer of the reference network alone (channels-last, batch 16 by
default) in float32 and under bfloat16 autocast, and the stride-2 transposed
convolution both ways: the sub-pixel form that `ConvTranspose2dSame` takes on a
CPU and PyTorch's transposed kernel. It shows where mixed precision pays and
why the transposed convolution takes its other form.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable

import torch

from vae_exp.models.layers import Conv2dSame, ConvTranspose2dSame

LAYERS = {  # name: (layer, input channels and size)
    "conv 3x3, 1->32, 28x28": (lambda: Conv2dSame(1, 32, 3), (1, 28)),
    "conv 3x3 stride 2, 32->64": (lambda: Conv2dSame(32, 64, 3, stride=2), (32, 28)),
    "conv 3x3, 64->64, 14x14": (lambda: Conv2dSame(64, 64, 3), (64, 14)),
    "conv 2x2, 32->1, 28x28": (lambda: Conv2dSame(32, 1, 2), (32, 28)),
    "transposed 3x3 stride 2, 64->32": (lambda: ConvTranspose2dSame(64, 32, 3, stride=2), (64, 14)),
}


def milliseconds(step: Callable[[], None], repeats: int) -> float:
    for _ in range(20):
        step()
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - started) / repeats * 1e3


def layer_step(
    layer: torch.nn.Module, x: torch.Tensor, bf16: bool, transposed_kernel: bool = False
) -> Callable[[], None]:
    """One forward and backward pass of `layer`; optionally forcing the transposed kernel."""
    forward = layer._transposed if transposed_kernel else layer

    def step() -> None:
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with autocast:
            y = forward(x)
        y.backward(torch.ones_like(y))

    return step


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_flush_denormal(True)
    print(f"forward + backward, ms, batch {args.batch_size}, channels-last")
    print(f"{'layer':36} {'float32':>8} {'bf16':>8}")
    for name, (make, (channels, size)) in LAYERS.items():
        layer = make().to(memory_format=torch.channels_last)
        x = torch.randn(args.batch_size, channels, size, size)
        x = x.contiguous(memory_format=torch.channels_last).requires_grad_(channels > 1)
        times = [milliseconds(layer_step(layer, x, bf16), args.repeats) for bf16 in (False, True)]
        print(f"{name:36} {times[0]:8.3f} {times[1]:8.3f}")
        if isinstance(layer, ConvTranspose2dSame):
            kernel = [
                milliseconds(layer_step(layer, x, bf16, transposed_kernel=True), args.repeats)
                for bf16 in (False, True)
            ]
            print(f"{'  ... PyTorch transposed kernel':36} {kernel[0]:8.3f} {kernel[1]:8.3f}")


if __name__ == "__main__":
    main()
