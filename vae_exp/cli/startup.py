"""What a command sets up for its process when it starts, and nothing does at import.

Warning filters, log filters, the config resolvers and the import path are
process-wide, so only a command's `main()` (or the Python API, per call)
changes them.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import warnings
from collections.abc import Sequence

from vae_exp.pipeline.resolvers import register_resolvers

CONFIG_PATH = "pkg://vae_exp.conf"


def _not_about_litlogger(record: logging.LogRecord) -> bool:
    return "litlogger" not in record.getMessage()


def quoted_paths(arguments: Sequence[str], settings: Sequence[str]) -> list[str]:
    """`run=a/kl_weight=0.1,latent_dim=2` -> `run='a/kl_weight=0.1,latent_dim=2'`.

    A sweep job's folder name holds `=` and `,`, which Hydra would read as
    override syntax; a path setting's value is always a path, so it is quoted.
    """
    quoted = []
    for argument in arguments:
        key, equals, value = argument.partition("=")
        if equals and key in settings and value and value[0] not in "'\"":
            value = "'" + value.replace("'", "\\'") + "'"
        quoted.append(f"{key}{equals}{value}" if equals else argument)
    return quoted


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


def tune_for_training() -> None:
    """The process-wide settings that make CPU training fast; call first, before any tensor work.

    The commands call it when their task starts, after Hydra has parsed the
    command line: `--help`, `--cfg`, completion and refused arguments never
    import PyTorch.
    """
    flush_denormals()
    reuse_freed_memory()
    skip_missing_nvml()


def prepare_process(path_settings: Sequence[str] = ()) -> None:
    """Set up this process for a vae-exp command whose `path_settings` take paths."""
    sys.argv[1:] = quoted_paths(sys.argv[1:], path_settings)
    register_resolvers()
    # The data sit in memory, so DataLoader workers would only add overhead.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # Lightning's model summary sizes bf16-mixed weights as 32-bit, which they are.
    warnings.filterwarnings("ignore", message=r".*is not supported by the model summary.*")
    # An internal deprecation inside Lightning itself, nothing a user can act on.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # hydra/launcher=joblib is vae-exp's own launcher config, named as the plugin's so that its
    # settings keep their names; Hydra checks it against the plugin's schema, which it matches.
    warnings.filterwarnings("ignore", message=r"\s*'hydra/launcher/joblib' is validated")
    # A log file that cannot be written (a full disk) must not bury the one-line error in
    # logging's own tracebacks; the console still shows every message.
    logging.raiseExceptions = False
    # Lightning's advertisement for its hosted logger.
    logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(_not_about_litlogger)
    # A `_target_` may name a class in the user's own module beside them, as with `python -m`.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
