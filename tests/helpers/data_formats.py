"""Small synthetic files in the official formats of the data sets vae-exp reads.

Only MNIST is on this machine; each writer here makes a few images in the
real layout and encoding of its set (folders, pickles, .npz, HDF5, JPEG/PNG).
"""

from __future__ import annotations

import itertools
import os
import pickle
from pathlib import Path

import numpy as np
from PIL import Image


def write_image_folder(
    root: Path,
    classes: dict[str, int] | None = None,
    size: tuple[int, int] = (30, 40),
    mode: str = "RGB",
    suffix: str = ".png",
) -> Path:
    """`root/<class>/<n>.png` (or flat, for `classes` None: 24 images): random images (h, w)."""
    rng = np.random.default_rng(0)
    folders = [(root / name, count) for name, count in classes.items()] if classes else [(root, 24)]
    for folder, count in folders:
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(count):
            channels = () if mode == "L" else (3,)
            pixels = rng.integers(0, 256, size=(*size, *channels), dtype=np.uint8)
            Image.fromarray(pixels, mode=None).convert(mode).save(folder / f"{number:03d}{suffix}")
    return root


CIFAR10_FILES = (*(f"data_batch_{n}" for n in range(1, 6)), "test_batch")


def write_cifar10(
    data_dir: Path, per_file: int = 12, files: tuple[str, ...] = CIFAR10_FILES
) -> Path:
    """`cifar-10-batches-py/`: five training batches and a test batch, pickled as the official."""
    folder = data_dir / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in files:
        batch = {
            b"batch_label": name.encode(),
            b"labels": [int(n) % 10 for n in range(per_file)],
            b"data": rng.integers(0, 256, size=(per_file, 3072), dtype=np.uint8),
            b"filenames": [f"{n}.png".encode() for n in range(per_file)],
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {b"label_names": [b"airplane"], b"num_cases_per_batch": per_file}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return data_dir


def write_celeba(data_dir: Path, splits: tuple[int, int, int] = (16, 4, 4)) -> Path:
    """`celeba/img_align_celeba/*.jpg` (178x218) and `list_eval_partition.txt`."""
    folder = data_dir / "celeba"
    images = folder / "img_align_celeba"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = []
    numbers = itertools.count(1)
    for split, count in enumerate(splits):
        for _ in range(count):
            name = f"{next(numbers):06d}.jpg"
            pixels = rng.integers(0, 256, size=(218, 178, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(images / name, quality=90)
            lines.append(f"{name} {split}")
    (folder / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return data_dir


class Marker:
    """Unpickled, it creates a file: how a test sees that something ran a pickle."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


DSPRITES_SIZES = (1, 3, 2, 3, 2, 2)  # a small grid of the six factors


def write_dsprites(data_dir: Path, marker: Path | None = None) -> Path:
    """The dSprites .npz: imgs (0/1), latents_classes, latents_values and a pickled metadata."""
    folder = data_dir / "dsprites"
    folder.mkdir(parents=True)
    classes = np.array(list(itertools.product(*(range(n) for n in DSPRITES_SIZES))), np.int64)
    values = classes.astype(np.float64) / 10
    rng = np.random.default_rng(0)
    imgs = (rng.random((len(classes), 64, 64)) < 0.2).astype(np.uint8)
    metadata = np.array({"payload": Marker(marker)} if marker else {"date": "2017"}, dtype=object)
    np.savez_compressed(
        folder / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
        imgs=imgs,
        latents_classes=classes,
        latents_values=values,
        metadata=metadata,
    )
    return data_dir


SHAPES3D_SIZES = (2, 2, 1, 2, 4, 2)


def write_shapes3d(data_dir: Path) -> Path:
    """3dshapes.h5: images (N, 64, 64, 3) uint8 and labels (N, 6) float64 factor values."""
    import h5py

    folder = data_dir / "shapes3d"
    folder.mkdir(parents=True)
    grid = np.array(list(itertools.product(*(range(n) for n in SHAPES3D_SIZES))), np.float64)
    labels = grid / 4 + 0.75  # values, not class numbers, as in the real file
    labels[:, 4] = grid[:, 4]  # the shape factor holds 0..3
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(len(grid), 64, 64, 3), dtype=np.uint8)
    with h5py.File(folder / "3dshapes.h5", "w") as file:
        file.create_dataset("images", data=images, compression="gzip")
        file.create_dataset("labels", data=labels)
    return data_dir
