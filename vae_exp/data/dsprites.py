"""`data=dsprites`: dSprites (Matthey et al., 2017) from its official `.npz` file.

`dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz` holds `imgs`
(N x 64 x 64, values 0 and 1), `latents_classes` and `latents_values` (N x 6:
colour, shape, scale, orientation, x and y position). Only those three entries
are read, as plain arrays: the file's `metadata` entry is a pickle and is never
opened, since the factors' names and sizes are known without it. The images
are cached once as uint8 (0 or 255). Each image's class is its shape.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vae_exp.data.arrays import ArrayDataModule, ImageArrays, factor_set_arrays
from vae_exp.data.factors import GroundTruthFactors
from vae_exp.foundation.errors import DataError

FILE = Path("dsprites") / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
FACTOR_NAMES = ("color", "shape", "scale", "orientation", "pos_x", "pos_y")
OFFICIAL_SIZES = (1, 3, 6, 40, 32, 32)
OFFICIAL_IMAGES = 737_280
SHAPE_NAMES = ("square", "ellipse", "heart")
SIDE = 64
_BLOCK = 8192


def _read_header(stream: BinaryIO) -> tuple[tuple, bool, np.dtype]:
    """An .npy stream's shape, Fortran order and dtype; the stream is left at the data."""
    version = np.lib.format.read_magic(stream)
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    if version not in readers:
        raise ValueError(f"unknown .npy version {version}")
    return readers[version](stream)


def _member_header(archive: zipfile.ZipFile, name: str, path: Path) -> tuple[tuple, np.dtype]:
    """The shape and dtype of the .npy member `name`, read without loading it."""
    if f"{name}.npy" not in archive.namelist():
        raise DataError(f"{path} is not the dSprites file: it has no {name} entry")
    with archive.open(f"{name}.npy") as stream:
        try:
            shape, fortran, dtype = _read_header(stream)
        except ValueError as error:
            raise DataError(f"{path}: its {name} entry is not an array ({error})") from None
    if fortran or dtype.hasobject:
        raise DataError(f"{path}: its {name} entry is not a plain array")
    return shape, dtype


def _read_member(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    """A small member array, loaded whole; pickles refused."""
    with archive.open(f"{name}.npy") as stream:
        return np.lib.format.read_array(stream, allow_pickle=False)


def _image_blocks(path: Path, labels: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The images as uint8 0/255 (B, 1, 64, 64), streamed from the archive a block at a time."""
    with zipfile.ZipFile(path) as archive, archive.open("imgs.npy") as stream:
        _read_header(stream)
        for start in range(0, len(labels), _BLOCK):
            count = min(_BLOCK, len(labels) - start)
            raw = stream.read(count * SIDE * SIDE)
            if len(raw) != count * SIDE * SIDE:
                raise DataError(f"{path}: its imgs entry is truncated")
            block = np.frombuffer(raw, dtype=np.uint8).reshape(count, 1, SIDE, SIDE)
            if block.max(initial=0) > 1:
                raise DataError(f"{path}: its imgs entry holds values other than 0 and 1")
            yield block * np.uint8(255), labels[start : start + count]


def check_structure(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The factor classes and values, after checking every entry's shape, dtype and count."""
    if not path.is_file():
        raise DataError(
            f"data=dsprites needs {path}: put the official dSprites .npz there "
            "(under data.data_dir)"
        )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"{path} is not an .npz file: {error}") from None
    with archive:
        images, image_type = _member_header(archive, "imgs", path)
        for name in ("latents_classes", "latents_values"):
            shape, _ = _member_header(archive, name, path)
            if shape != (images[0], len(FACTOR_NAMES)):
                raise DataError(
                    f"{path}: {name} has shape {list(shape)}, not [{images[0]}, 6] "
                    "(one row of six factors per image)"
                )
        if len(images) != 3 or images[1:] != (SIDE, SIDE) or image_type != np.uint8:
            raise DataError(f"{path}: imgs is {image_type} {list(images)}, not uint8 [N, 64, 64]")
        classes = _read_member(archive, "latents_classes").astype(np.int64)
        values = _read_member(archive, "latents_values").astype(np.float64)
    if images[0] == 0:
        raise DataError(f"{path} holds no images")
    sizes = tuple(int(n) + 1 for n in classes.max(axis=0))
    if classes.min() < 0 or any(s > o for s, o in zip(sizes, OFFICIAL_SIZES, strict=True)):
        raise DataError(f"{path}: latents_classes outside the factors' sizes {OFFICIAL_SIZES}")
    if images[0] == OFFICIAL_IMAGES and sizes != OFFICIAL_SIZES:
        raise DataError(f"{path}: the official count of images but factor sizes {sizes}")
    return classes, values


class DSpritesDataModule(ArrayDataModule):
    """dSprites' 64x64 binary sprites with their six ground-truth factors.

    Arguments: see `ArrayDataModule`. Without val_split, a tenth validates.
    """

    def read_arrays(self) -> ImageArrays:
        path = self.data_dir / FILE
        classes, values = check_structure(path)
        factors = GroundTruthFactors(FACTOR_NAMES, classes, values)
        return factor_set_arrays(
            self,
            "dsprites",
            path,
            factors,
            "shape",
            SHAPE_NAMES,
            (1, SIDE, SIDE),
            lambda labels: _image_blocks(path, labels),
        )
