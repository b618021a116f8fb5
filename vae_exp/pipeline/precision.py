"""The default precision: bfloat16 mixed precision where the hardware computes it natively.

On a CPU with AVX-512 BF16 or AMX, and on a GPU with bfloat16 support, the
networks' convolutions and matrix products run in bfloat16 (through
`torch.autocast`), whose matrix products are several times faster there; weights, optimizer
state, loss and validation stay in float32. Elsewhere bfloat16 would be
emulated, and slower, so training stays in float32.
"""

from __future__ import annotations

import torch

MIXED = "bf16-mixed"
FULL = "32-true"


def _cpu_has_native_bf16() -> bool:
    cpu = torch.cpu
    return any(
        getattr(cpu, check, lambda: False)()
        for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    )


def native_precision(accelerator: str) -> str:
    """`bf16-mixed` if the device `accelerator` picks computes bfloat16 natively, else `32-true`."""
    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return MIXED if torch.cuda.is_bf16_supported() else FULL
    if accelerator in ("cpu", "auto"):
        return MIXED if _cpu_has_native_bf16() else FULL
    return FULL
