"""Whether a count a user sets (images, samples, grid steps, batch size) fits the machine.

A count far too large would otherwise fail late, after a folder was made, with
a traceback about an allocation of hundreds of gigabytes. The estimate is
deliberately generous (a decoder's activations are a few dozen times its
output), so a refused count would not have fitted, and counts that fit are
never refused for being large.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from vae_exp.foundation.errors import ConfigError

# Bytes held per value of a decoded image while decoding it: float32 activations of the
# networks' layers, which are a few dozen times the output; training keeps them for backward.
DECODE_BYTES_PER_VALUE = 4 * 64
TRAIN_BYTES_PER_VALUE = 4 * 256
# The side of a picture beyond which image writers (Agg, PNG viewers) give up.
MAX_PICTURE_SIDE = 2**15


def available_memory() -> int:
    """Bytes this machine can still give a process: MemAvailable, else the physical memory."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1024 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def require_memory(setting: str, value: object, needed: float, what: str) -> None:
    """Refuse `setting=value` when `what` needs more than the memory available now."""
    available = available_memory()
    if needed > available:
        raise ConfigError(
            setting,
            value,
            f"a smaller value: {what} needs about {_size(needed)}, and this machine has "
            f"{_size(available)} available",
        )


def require_decodable(
    setting: str, value: object, images: int, image_shape: Sequence[int], training: bool = False
) -> None:
    """Refuse a count that makes `images` decoded images of `image_shape` not fit in memory."""
    per_value = TRAIN_BYTES_PER_VALUE if training else DECODE_BYTES_PER_VALUE
    needed = float(images) * math.prod(image_shape) * per_value
    what = f"{'training on' if training else 'decoding'} {images:,} images at once"
    require_memory(setting, value, needed, what)


def require_picture(
    setting: str, value: object, rows: int, columns: int, image_shape: Sequence[int]
) -> None:
    """Refuse a tiled picture of rows x columns images that no image writer can hold."""
    height, width = image_shape[-2:]
    sides = (rows * (height + 1) + 1, columns * (width + 1) + 1)
    if max(sides) > MAX_PICTURE_SIDE:
        raise ConfigError(
            setting,
            value,
            f"a smaller value: the picture would be {sides[1]} x {sides[0]} pixels, and "
            f"pictures are at most {MAX_PICTURE_SIDE} pixels a side",
        )
    require_decodable(setting, value, rows * columns, image_shape)
