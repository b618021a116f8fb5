"""The process-wide settings that make training fast, applied once per process and recorded.

Each is a setting of the whole process (a floating-point mode, the C
library's allocator, an environment variable PyTorch reads), so nothing sets
them at import: a run applies them when it starts (`vae_exp.pipeline`, for the
command and for `vae_exp.fit` alike), and its `results.json` says which took
effect (`process_settings`).
"""

from __future__ import annotations

import ctypes
import functools
import os


def flush_denormals() -> None:
    """Compute float numbers below 1.2e-38 as zero on the CPU, as TensorFlow does.

    RMSprop's running mean of squared gradients decays toward zero for units
    whose gradients vanish, into subnormal numbers, whose arithmetic is many
    times slower: without this, each epoch of the reference run is slower than
    the one before. The mode belongs to each thread and CPU threads copy it
    when they start, so it is set before PyTorch starts its thread pool.
    """
    import torch

    torch.set_flush_denormal(True)


# glibc's mallopt parameters (malloc.h) and the environment variables that set them too.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MALLOC_ENVIRONMENT = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")
_KEEP_BLOCKS_UP_TO = 32 * 2**20  # glibc's largest mmap threshold on 64-bit systems
_KEEP_FREE_UP_TO = 256 * 2**20


def reuse_freed_memory() -> bool:
    """Let glibc's malloc keep freed tensors' memory for the next ones; True if it now does.

    A training step frees and allocates the same few megabytes of tensors.
    By default glibc maps each block over 128 KiB afresh and returns it to
    the system when freed, so every step faults its pages in again, zeroed:
    about 1,000 page faults and a tenth of a reference step on a 2-core CPU.
    Blocks up to 32 MiB now come from the heap, which keeps up to 256 MiB
    free; the peak memory does not change. Settings of the user's own
    (`MALLOC_*_` variables) and other C libraries are left as they are.
    """
    if any(name in os.environ for name in _MALLOC_ENVIRONMENT):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    kept = mallopt(_M_MMAP_THRESHOLD, _KEEP_BLOCKS_UP_TO) == 1
    return mallopt(_M_TRIM_THRESHOLD, _KEEP_FREE_UP_TO) == 1 and kept


# Lightning sets this at import: count GPUs through NVML, which keeps forked processes safe.
_NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"
_NVML_LIBRARY = "libnvidia-ml.so.1"  # the name PyTorch loads


def skip_missing_nvml() -> bool:
    """Let PyTorch count GPUs without NVML where NVML is missing; True if it now does.

    `torch.optim` asks whether a GPU is there on every step. Under Lightning's
    NVML-based check, a machine without NVIDIA's driver then searches the
    library path for NVML on every step, fails, and asks the CUDA runtime
    anyway: 33 us per step on a 2-core CPU. Without the library the two checks
    are the same check, so the NVML one is dropped; where it loads, it stays.
    """
    import lightning_fabric  # noqa: F401  (sets the variable when first imported)

    if os.environ.get(_NVML_CHECK) != "1":
        return False
    try:
        ctypes.CDLL(_NVML_LIBRARY)
    except OSError:
        del os.environ[_NVML_CHECK]
        return True
    return False


# Set by vae-exp's launcher and search workers: how many jobs run at once on this machine.
JOBS_AT_ONCE = "VAE_EXP_JOBS_AT_ONCE"


def usable_cores() -> int:
    """The cores this process may run on (a SLURM job's allocation, a container's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def share_cores() -> int | None:
    """Give this job's PyTorch threads its share of the cores; the thread count, or None.

    Each PyTorch process starts one thread per core, so K jobs at once would
    ask for K times the machine and spend their time waiting for each other.
    With `VAE_EXP_JOBS_AT_ONCE=K` each job takes cores // K threads (at least one).
    """
    try:
        at_once = int(os.environ.get(JOBS_AT_ONCE) or 1)
    except ValueError:
        return None
    if at_once <= 1:
        return None
    import torch

    threads = max(1, usable_cores() // at_once)
    torch.set_num_threads(threads)
    return threads


def tune_for_training() -> dict[str, bool | int]:
    """Apply the settings (first call only, before any tensor work); which took effect.

    The commands call it when their task starts, after Hydra has parsed the
    command line: `--help`, `--cfg`, completion and refused arguments never
    import PyTorch. Later calls return (a copy of) the first call's answer.
    """
    return dict(_applied())


@functools.cache
def _applied() -> dict[str, bool | int]:
    flush_denormals()
    applied: dict[str, bool | int] = {
        "flush_denormals": True,
        "reuse_freed_memory": reuse_freed_memory(),
        "skip_missing_nvml": skip_missing_nvml(),
    }
    threads = share_cores()
    if threads is not None:
        applied["torch_threads"] = threads
    return applied
