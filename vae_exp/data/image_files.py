"""Reading image files (PNG, JPEG...) into uint8 arrays of one size, in parallel threads."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vae_exp.foundation.errors import DataError

# The extensions torchvision's ImageFolder reads.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
BLOCK = 512  # images decoded per block written to the cache
_THREADS = 4  # Pillow decodes without the interpreter lock: threads use every core

# A function that turns an opened image into the wanted mode and size.
Shaper = Callable[[Image.Image], Image.Image]


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def scan_images(folder: Path) -> dict[str, tuple[int, int]]:
    """The image files directly in `folder`: name -> (size, modification time), sorted by name.

    One directory scan, whose entries carry their type and status: listing
    CelebA's 202,599 files this way takes a fraction of a second.
    """
    found = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if is_image_name(entry.name) and entry.is_file():
                status = entry.stat()
                found[entry.name] = (status.st_size, status.st_mtime_ns)
    return dict(sorted(found.items()))


def fit_to(size: tuple[int, int], mode: str) -> Shaper:
    """Scale an image to cover (height, width), keeping its aspect, and cut out the centre."""
    height, width = size

    def shaped(image: Image.Image) -> Image.Image:
        image = image.convert(mode)
        return ImageOps.fit(image, (width, height), method=Image.Resampling.BILINEAR)

    return shaped


def read_image(path: str | Path, shaper: Shaper) -> np.ndarray:
    """One file as uint8 (C, H, W); DataError naming it if it is not a readable image."""
    try:
        with Image.open(path) as image:
            pixels = np.asarray(shaper(image), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path} is not a readable image: {reason}") from None
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def decoded_blocks(
    paths: Sequence[str | Path], labels: Sequence[int], shaper: Shaper
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The files decoded, in order, as blocks of (uint8 images (B, C, H, W), labels (B,))."""
    with ThreadPoolExecutor(_THREADS) as pool:
        for start in range(0, len(paths), BLOCK):
            chunk = paths[start : start + BLOCK]
            images = list(pool.map(lambda path: read_image(path, shaper), chunk))
            yield np.stack(images), np.asarray(labels[start : start + BLOCK], dtype=np.int64)
