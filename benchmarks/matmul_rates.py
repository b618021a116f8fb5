"""The CPU's arithmetic ceiling: matrix-product rates in float32 and bfloat16, through torch.

    python benchmarks/matmul_rates.py
    python benchmarks/matmul_rates.py --sizes 512 2048 --seconds 2

For each square size n it times `a @ b` (2 n^3 floating-point operations) with
PyTorch's own kernels and prints GFLOP/s per precision and their ratio. The
ratio bounds what mixed precision can gain for the convolutions and matrix
products of a model; the float32 figure bounds float32 training.
"""

from __future__ import annotations

import argparse
import time

import torch


def rate(n: int, dtype: torch.dtype, seconds: float) -> float:
    """GFLOP/s of n x n matrix products in `dtype`, timed for about `seconds`."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(3):
        a @ b
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / elapsed / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    parser.add_argument("--seconds", type=float, default=1.0, help="timing per measurement")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'n':>6} {'float32 GFLOP/s':>16} {'bfloat16 GFLOP/s':>17} {'ratio':>6}")
    for n in args.sizes:
        fp32 = rate(n, torch.float32, args.seconds)
        bf16 = rate(n, torch.bfloat16, args.seconds)
        print(f"{n:6d} {fp32:16.0f} {bf16:17.0f} {bf16 / fp32:6.1f}", flush=True)


if __name__ == "__main__":
    main()
