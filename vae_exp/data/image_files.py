"""Reading image files (PNG, JPEG...) into uint8 arrays of one size, in parallel threads."""

from __future__ import annotations

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


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def image_files(folder: Path) -> list[Path]:
    """The image files directly in `folder`, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))


def fit_to(size: tuple[int, int], mode: str) -> Shaper:
    """Scale an image to cover (height, width), keeping its aspect, and cut out the centre."""
    height, width = size

    def shaped(image: Image.Image) -> Image.Image:
        image = image.convert(mode)
        return ImageOps.fit(image, (width, height), method=Image.Resampling.BILINEAR)

    return shaped


def read_image(path: Path, shaper: Shaper) -> np.ndarray:
    """One file as uint8 (C, H, W); DataError naming it if it is not a readable image."""
    try:
        with Image.open(path) as image:
            pixels = np.asarray(shaper(image), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path} is not a readable image: {reason}") from None
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def decoded_blocks(
    paths: Sequence[Path], labels: Sequence[int], shaper: Shaper
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The files decoded, in order, as blocks of (uint8 images (B, C, H, W), labels (B,))."""
    with ThreadPoolExecutor(_THREADS) as pool:
        for start in range(0, len(paths), BLOCK):
            chunk = paths[start : start + BLOCK]
            images = list(pool.map(lambda path: read_image(path, shaper), chunk))
            yield np.stack(images), np.asarray(labels[start : start + BLOCK], dtype=np.int64)
