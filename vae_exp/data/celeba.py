"""`data=celeba`: CelebA's aligned faces from torchvision's `celeba/` folder.

`celeba/img_align_celeba/*.jpg` (178x218 colour images) and
`celeba/list_eval_partition.txt` (each file's split: 0 train, 1 validation,
2 test), as the official download unpacks. Each face is the centre 148x148
square, scaled to 64x64: the crop of most VAE work on CelebA (for example the
PyTorch-VAE benchmarks). The images are cached once as uint8: 2.5 GB at 64x64.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from vae_exp.data.arrays import ArrayDataModule, ImageArrays, ImageSplit
from vae_exp.data.checksums import require_official
from vae_exp.data.image_cache import cache_key, cached_images, files_fingerprint
from vae_exp.data.image_files import Shaper, decoded_blocks, scan_images
from vae_exp.data.image_folder import image_size_setting
from vae_exp.foundation.errors import DataError

FOLDER = "celeba"
IMAGES = "img_align_celeba"
PARTITION = "list_eval_partition.txt"
OFFICIAL_IMAGES = 202_599
PARTITION_MD5 = "d32c9cbf5e040fd4025c592c306e6668"  # torchvision's
CROP = 148
SPLIT_NUMBERS = {"train": 0, "val": 1, "test": 2}


def centre_crop(crop: int, size: tuple[int, int]) -> Shaper:
    """The centre `crop` x `crop` square of an RGB image, scaled to (height, width)."""
    height, width = size

    def shaped(image: Image.Image) -> Image.Image:
        image = image.convert("RGB")
        left, top = (image.width - crop) // 2, (image.height - crop) // 2
        square = image.crop((left, top, left + crop, top + crop))
        return ImageOps.fit(square, (width, height), method=Image.Resampling.BILINEAR)

    return shaped


def read_partition(path: Path) -> tuple[list[str], np.ndarray]:
    """The file names and their split numbers; DataError naming the line that is wrong."""
    if not path.is_file():
        raise DataError(
            f"data=celeba needs {path}: put the official list_eval_partition.txt and the "
            f"unpacked {IMAGES}/ in {path.parent} (under data.data_dir)"
        )
    names, splits = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2") or "/" in fields[0]:
            raise DataError(f"{path} line {number} is not '<file>.jpg <0|1|2>': {line[:60]!r}")
        names.append(fields[0])
        splits.append(int(fields[1]))
    if not names:
        raise DataError(f"{path} lists no images")
    if len(names) == OFFICIAL_IMAGES:
        require_official(path, "md5", PARTITION_MD5)
    return names, np.asarray(splits)


class CelebADataModule(ArrayDataModule):
    """CelebA (Liu et al., 2015) at `image_size` (64 by default), with the official splits.

    Arguments: see `ArrayDataModule`; `image_size` as for `data=image_folder`.
    """

    def __init__(self, image_size: int | list[int] = 64, **settings) -> None:
        super().__init__(**settings)
        self.image_size = image_size_setting(image_size)

    def read_arrays(self) -> ImageArrays:
        folder = self.data_dir / FOLDER
        names, splits = read_partition(folder / PARTITION)
        found = scan_images(folder / IMAGES) if (folder / IMAGES).is_dir() else {}
        missing = next((name for name in names if name not in found), None)
        if missing is not None:
            raise DataError(
                f"data=celeba: {folder / IMAGES / missing} is missing: {PARTITION} lists "
                f"{len(names)} images, unpack all of them into {folder / IMAGES}"
            )
        base = str(folder / IMAGES)
        paths = [os.path.join(base, name) for name in names]
        listing = [(name, *found[name]) for name in names]
        material = {"files": [*files_fingerprint([folder / PARTITION], folder), *listing]}
        key = cache_key({"celeba": material, "size": self.image_size, "crop": CROP})
        cached = cached_images(
            self.cache_dir,
            "celeba",
            key,
            (len(paths), 3, *self.image_size),
            lambda: decoded_blocks(paths, [0] * len(paths), centre_crop(CROP, self.image_size)),
            {"data_set": "celeba", "image_size": self.image_size, "crop": CROP},
        )
        whole = ImageSplit(cached.images, cached.labels)
        split = {
            name: whole.subset(np.flatnonzero(splits == number))
            for name, number in SPLIT_NUMBERS.items()
        }
        return ImageArrays(
            train=split["train"],
            val=split["val"] if len(split["val"]) else None,
            test=split["test"] if len(split["test"]) else None,
            source=str(folder),
        )
