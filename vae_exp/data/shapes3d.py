"""`data=shapes3d`: 3D Shapes (Burgess and Kim, 2018) from its official `3dshapes.h5`.

`shapes3d/3dshapes.h5` holds `images` (N x 64 x 64 x 3, uint8) and `labels`
(N x 6 factor values: floor hue, wall hue, object hue, scale, shape,
orientation). Reading HDF5 needs h5py: `pip install "vae-exp[shapes3d]"`.
The images are cached once as uint8 (N, 3, 64, 64). Each image's class is its shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vae_exp.data.arrays import ArrayDataModule, ImageArrays, factor_set_arrays
from vae_exp.data.factors import GroundTruthFactors, classes_of
from vae_exp.foundation.errors import DataError

FILE = Path("shapes3d") / "3dshapes.h5"
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
OFFICIAL_SIZES = (10, 10, 10, 8, 4, 15)
OFFICIAL_IMAGES = 480_000
SHAPE_NAMES = ("cube", "cylinder", "sphere", "capsule")
SIDE = 64
_BLOCK = 4096


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise DataError(
            "data=shapes3d reads HDF5 files, which needs h5py: pip install 'vae-exp[shapes3d]'"
        ) from None
    return h5py


def check_structure(path: Path) -> np.ndarray:
    """The factor values, after checking the entries' shapes, dtypes and counts."""
    if not path.is_file():
        raise DataError(
            f"data=shapes3d needs {path}: put the official 3dshapes.h5 there (under data.data_dir)"
        )
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as file:
            for name in ("images", "labels"):
                if name not in file or not isinstance(file[name], h5py.Dataset):
                    raise DataError(f"{path} is not the 3D Shapes file: it has no {name} data set")
            images, labels = file["images"], file["labels"]
            if images.dtype != np.uint8 or images.shape[1:] != (SIDE, SIDE, 3):
                raise DataError(
                    f"{path}: images is {images.dtype} {list(images.shape)}, "
                    "not uint8 [N, 64, 64, 3]"
                )
            if labels.shape != (images.shape[0], len(FACTOR_NAMES)) or labels.dtype.kind != "f":
                raise DataError(
                    f"{path}: labels is {labels.dtype} {list(labels.shape)}, "
                    f"not float [{images.shape[0]}, 6]"
                )
            values = labels[()].astype(np.float64)
    except OSError as error:
        raise DataError(f"{path} is not a readable HDF5 file: {error}") from None
    if len(values) == 0:
        raise DataError(f"{path} holds no images")
    sizes = tuple(len(np.unique(column)) for column in values.T)
    if len(values) == OFFICIAL_IMAGES and sizes != OFFICIAL_SIZES:
        raise DataError(f"{path}: the official count of images but factor sizes {sizes}")
    return values


def _image_blocks(path: Path, labels: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    with _h5py().File(path, "r") as file:
        images = file["images"]
        for start in range(0, len(labels), _BLOCK):
            block = images[start : start + _BLOCK]
            yield block.transpose(0, 3, 1, 2), labels[start : start + len(block)]


class Shapes3DDataModule(ArrayDataModule):
    """3D Shapes' 64x64 colour renderings with their six ground-truth factors.

    Arguments: see `ArrayDataModule`. Without val_split, a tenth validates.
    """

    def read_arrays(self) -> ImageArrays:
        path = self.data_dir / FILE
        values = check_structure(path)
        factors = GroundTruthFactors(FACTOR_NAMES, classes_of(values), values)
        return factor_set_arrays(
            self,
            "shapes3d",
            path,
            factors,
            "shape",
            SHAPE_NAMES,
            (3, SIDE, SIDE),
            lambda labels: _image_blocks(path, labels),
        )
