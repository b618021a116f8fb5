"""Checks that the four raw files of an MNIST-format data set are complete and uncorrupted.

torchvision reads truncated or damaged IDX files with obscure errors (or not at
all); these checks name the file and say what is wrong before any reading.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from vae_exp.foundation.errors import DataError

# name -> (IDX magic number, shape of one item, number of items in the official set)
RAW_FILES: dict[str, tuple[int, tuple[int, ...], int]] = {
    "train-images-idx3-ubyte": (0x0803, (28, 28), 60_000),
    "train-labels-idx1-ubyte": (0x0801, (), 60_000),
    "t10k-images-idx3-ubyte": (0x0803, (28, 28), 10_000),
    "t10k-labels-idx1-ubyte": (0x0801, (), 10_000),
}

# SHA-256 of the official, uncompressed MNIST files. An MNIST file that declares the official
# number of items must match, so that silent corruption is caught too. (For Fashion-MNIST and
# KMNIST the header and length checks apply.)
OFFICIAL_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def raw_folder(data_dir: str | Path, folder: str = "MNIST") -> Path:
    """Where torchvision's `MNIST(root=data_dir)` (or FashionMNIST, KMNIST) looks for the files."""
    return Path(data_dir) / folder / "raw"


def raw_files_present(data_dir: str | Path, folder: str = "MNIST") -> bool:
    folder = raw_folder(data_dir, folder)
    return all((folder / name).is_file() for name in RAW_FILES)


def check_raw_file(path: Path, checksums: dict[str, str] | None = None) -> int:
    """How many items `path` holds; DataError naming it if its header, length or checksum is off."""
    magic, item_shape, official_count = RAW_FILES[path.name]
    data = path.read_bytes()
    header_len = 4 * (2 + len(item_shape))
    if len(data) < header_len:
        raise DataError(f"MNIST file {path} is truncated: {len(data)} bytes, not even a header")
    header = [int.from_bytes(data[i : i + 4], "big") for i in range(0, header_len, 4)]
    if header[0] != magic:
        raise DataError(
            f"MNIST file {path} is corrupt: magic number {header[0]:#x}, expected {magic:#x}"
        )
    count, shape = header[1], tuple(header[2:])
    if shape != item_shape:
        raise DataError(f"MNIST file {path} is corrupt: items of shape {shape}, not {item_shape}")
    expected = header_len + count * math.prod(item_shape)
    if len(data) != expected:
        raise DataError(
            f"MNIST file {path} is truncated or padded: {len(data)} bytes, "
            f"its header promises {expected}"
        )
    official = (checksums or {}).get(path.name)
    if count == official_count and official and hashlib.sha256(data).hexdigest() != official:
        raise DataError(
            f"MNIST file {path} is corrupt: its SHA-256 differs from the official file's. "
            "Delete it and download it again."
        )
    return count


def check_raw_files(data_dir: str | Path, folder: str = "MNIST") -> None:
    location = raw_folder(data_dir, folder)
    checksums = OFFICIAL_SHA256 if folder == "MNIST" else None
    counts = {name: check_raw_file(location / name, checksums) for name in RAW_FILES}
    for split in ("train", "t10k"):
        images, labels = f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"
        if counts[images] != counts[labels]:
            raise DataError(
                f"MNIST files {location / images} and {location / labels} disagree: "
                f"{counts[images]} images but {counts[labels]} labels"
            )
