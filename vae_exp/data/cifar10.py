"""`data=cifar10`: CIFAR-10 from torchvision's `cifar-10-batches-py/` folder.

Six batch files (`data_batch_1` to `_5` for training, `test_batch`) and
`batches.meta`, as the official archive unpacks. They are pickles, read by a
reader that only rebuilds plain data (`vae_exp.data.safe_pickle`); a file of
the official size must match torchvision's MD5. Validation uses the test split,
as for MNIST, unless `val_split` holds out training images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vae_exp.data.arrays import ArrayDataModule, ImageArrays, ImageSplit
from vae_exp.data.checksums import require_official
from vae_exp.data.image_cache import (
    cache_key,
    cached_images,
    entry_folder,
    files_fingerprint,
    open_cached,
)
from vae_exp.data.safe_pickle import load_data_pickle
from vae_exp.foundation.errors import DataError

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{n}" for n in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
IMAGES_PER_FILE = 10_000  # in the official files
SHAPE = (3, 32, 32)
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
# torchvision's MD5 of each official file.
OFFICIAL_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file's images (N, 3, 32, 32) uint8 and labels, its structure checked."""
    if not path.is_file():
        raise DataError(
            f"data=cifar10 needs {path}: unpack the official cifar-10-python.tar.gz into "
            f"{path.parent.parent} (data.data_dir), or point VAE_EXP_DATA_DIR at its folder"
        )
    batch: Any = load_data_pickle(path)
    if not isinstance(batch, dict) or not {b"data", b"labels"} <= set(batch):
        raise DataError(f"{path} is not a CIFAR-10 batch: it lacks the data and labels entries")
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise DataError(f"{path} is not a CIFAR-10 batch: its data are not uint8 rows")
    if data.shape[1] != int(np.prod(SHAPE)) or len(labels) != len(data):
        raise DataError(
            f"{path} is not a CIFAR-10 batch: {data.shape[1]} values per image (not 3072) "
            f"and {len(labels)} labels for {len(data)} images"
        )
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
        raise DataError(f"{path} is not a CIFAR-10 batch: labels outside 0..9")
    if len(data) == IMAGES_PER_FILE:
        require_official(path, "md5", OFFICIAL_MD5[path.name])
    return data.reshape(-1, *SHAPE), labels


class CIFAR10DataModule(ArrayDataModule):
    """CIFAR-10's 32x32 colour images in ten classes (Krizhevsky, 2009).

    Arguments: see `ArrayDataModule`.
    """

    def read_arrays(self) -> ImageArrays:
        folder = self.data_dir / FOLDER
        present = [folder / name for name in (*TRAIN_FILES, TEST_FILE) if (folder / name).is_file()]
        key = cache_key({"cifar10": files_fingerprint(present, folder)})
        return ImageArrays(
            train=self._split("train", TRAIN_FILES, key),
            test=self._split("test", (TEST_FILE,), key),
            source=str(folder),
            class_names=CLASS_NAMES,
        )

    def _split(self, split: str, files: tuple[str, ...], key: str) -> ImageSplit:
        """A split from the cache; the batch files are read (and checked) only to build it."""
        name = f"cifar10-{split}"
        found = open_cached(entry_folder(self.cache_dir, name, key))
        if found is None:
            batches = [read_batch(self.data_dir / FOLDER / file) for file in files]
            count = sum(len(images) for images, _ in batches)
            meta = {"data_set": "cifar10", "split": split}
            found = cached_images(self.cache_dir, name, key, (count, *SHAPE), lambda: batches, meta)
        return ImageSplit(found.images, found.labels)
