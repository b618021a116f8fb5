"""`data=image_folder`: the user's own images, one sub-folder per class or a flat folder.

The layout is torchvision's `ImageFolder`: `<path>/<class>/<image>` gives each
image its class (sub-folders sorted by name are classes 0, 1, ...); a folder
with images and no sub-folders gives unlabelled images. Every image is scaled
to cover `image_size` and cut to it at the centre, in grey (`channels=1`) or
colour (`channels=3`), once: the result is cached as uint8 and memory-mapped by
every later run, until a file, a name or a setting changes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from omegaconf import ListConfig

from vae_exp.data.arrays import ArrayDataModule, ImageArrays, ImageSplit
from vae_exp.data.image_cache import cache_key, cached_images
from vae_exp.data.image_files import decoded_blocks, fit_to, scan_images
from vae_exp.foundation.errors import ConfigError, DataError
from vae_exp.foundation.values import is_int, plain

CHANNEL_MODES = {1: "L", 3: "RGB"}
MAX_SIDE = 4096


def image_size_setting(value: object, setting: str = "image_size") -> tuple[int, int]:
    """`image_size`: one side for square images, or [height, width]."""
    sides = list(value) if isinstance(value, (list, tuple, ListConfig)) else [value]
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2 or not all(is_int(s) and 1 <= s <= MAX_SIDE for s in sides):
        allowed = f"a size in 1..{MAX_SIDE} (e.g. 64) or [height, width] (e.g. [64,48])"
        raise ConfigError(setting, plain(value), allowed)
    return int(sides[0]), int(sides[1])


def labelled_files(
    root: Path,
) -> tuple[list[str], list[int], tuple[str, ...] | None, list[tuple[str, int, int]]]:
    """Every image under `root`, its class number, the class names (None: a flat folder),
    and each file's name, size and modification time (what the cache key covers)."""
    if not root.is_dir():
        raise DataError(f"data.path={root} is not a folder: name a folder of images")
    with os.scandir(root) as entries:
        class_names = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    folders = [(root / name, f"{name}/", number) for number, name in enumerate(class_names)]
    if not folders:
        folders = [(root, "", 0)]
    paths, labels, fingerprint = [], [], []
    for folder, prefix, number in folders:
        found = scan_images(folder)
        if not found and prefix:
            raise DataError(f"data.path={root}: the class folder {prefix} holds no images")
        if not found:
            raise DataError(f"data.path={root} holds no images and no class folders")
        base = str(folder)  # plain strings: a Path per file costs seconds for CelebA's count
        paths += [os.path.join(base, name) for name in found]
        labels += [number] * len(found)
        fingerprint += [(prefix + name, *status) for name, status in found.items()]
    return paths, labels, (tuple(class_names) or None), fingerprint


class ImageFolderDataModule(ArrayDataModule):
    """The images of a folder, at `image_size` in `channels` channels.

    Args:
        path: the folder: one sub-folder of images per class, or images alone.
        image_size: one side (square images) or [height, width].
        channels: 1 (grey) or 3 (colour).
        Other arguments: see `ArrayDataModule`. Without val_split, a tenth validates.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        image_size: int | Sequence[int] = 64,
        channels: int = 3,
        **settings,
    ) -> None:
        super().__init__(**settings)
        if path is None or str(path) in ("", "???"):
            raise ConfigError("path", plain(path), "the folder of your images: data.path=DIR")
        self.path = Path(path).expanduser().absolute()
        self.image_size = image_size_setting(image_size)
        if channels not in CHANNEL_MODES:
            raise ConfigError("channels", plain(channels), "1 (grey) or 3 (colour)")
        self.channels = int(channels)

    def read_arrays(self) -> ImageArrays:
        paths, labels, names, fingerprint = labelled_files(self.path)
        settings = {"image_size": self.image_size, "channels": self.channels}
        key = cache_key({"folder": str(self.path), "files": fingerprint, **settings})
        shaper = fit_to(self.image_size, CHANNEL_MODES[self.channels])
        cached = cached_images(
            self.cache_dir,
            "image_folder",
            key,
            (len(paths), self.channels, *self.image_size),
            lambda: decoded_blocks(paths, labels, shaper),
            {"folder": str(self.path), "class_names": names, **settings},
        )
        return ImageArrays(
            train=ImageSplit(cached.images, cached.labels),
            source=str(self.path),
            class_names=names,
        )
