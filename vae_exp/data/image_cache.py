"""Decoded images cached once as uint8 arrays on disk, then memory-mapped by every later run.

A cache entry is a folder `<cache_dir>/<name>-<key>/` holding `images.npy`
(uint8, N x C x H x W), `labels.npy` and `meta.json`. Its key is a digest of
what it was made from (the files' names, sizes and modification times, and the
settings), so a changed source or setting makes a new entry. An entry is
written into a temporary folder and renamed into place when complete: a run
stopped while building leaves no half entry, and no entry is ever rewritten.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vae_exp.foundation.errors import DataError

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
IMAGES, LABELS, META = "images.npy", "labels.npy", "meta.json"


@dataclass(frozen=True)
class CachedImages:
    images: np.ndarray  # read-only memory map, uint8 (N, C, H, W)
    labels: np.ndarray
    meta: dict[str, Any]
    folder: Path


def cache_key(material: Any) -> str:
    """A short digest of JSON-able `material` (sources and settings)."""
    text = json.dumps({"format": CACHE_FORMAT, "of": material}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def files_fingerprint(paths: Iterable[Path], root: Path) -> list[tuple[str, int, int]]:
    """Each file's name under `root`, size and modification time: what the key covers."""
    listing = []
    for path in paths:
        stat = path.stat()
        listing.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return listing


def entry_folder(cache_dir: Path, name: str, key: str) -> Path:
    return Path(cache_dir) / f"{name}-{key}"


def open_cached(folder: Path) -> CachedImages | None:
    """The entry at `folder`, memory-mapped; None if there is none (or it is damaged)."""
    try:
        meta = json.loads((folder / META).read_text())
        images = np.load(folder / IMAGES, mmap_mode="r", allow_pickle=False)
        labels = np.load(folder / LABELS, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if images.dtype != np.uint8 or images.ndim != 4 or len(labels) != len(images):
        return None
    return CachedImages(images, labels, meta, folder)


def cached_images(
    cache_dir: Path,
    name: str,
    key: str,
    shape: tuple[int, int, int, int],
    blocks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]],
    meta: dict[str, Any],
) -> CachedImages:
    """The entry `name-key`; if it is missing, built from `blocks()` first.

    `blocks()` yields (uint8 images, labels) in row order, `shape[0]` rows in all.
    The space it needs is checked before it starts, and a full disk while writing
    is one line, leaving nothing behind.
    """
    folder = entry_folder(cache_dir, name, key)
    found = open_cached(folder)
    if found is not None:
        return found
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
    except OSError as error:
        raise DataError(
            f"cannot write the image cache in {folder.parent} ({error.strerror}): "
            "set data.cache_dir to a folder you can write to"
        ) from None
    needed = int(np.prod(shape)) + 9 * shape[0]
    free = shutil.disk_usage(building).free
    if free < needed:
        shutil.rmtree(building, ignore_errors=True)
        raise DataError(
            f"the image cache needs {needed / 1e9:.2f} GB but {folder.parent} has "
            f"{free / 1e9:.2f} GB free: free some space or set data.cache_dir elsewhere"
        )
    try:
        started = time.perf_counter()
        labels = _write_images(building / IMAGES, shape, blocks())
        np.save(building / LABELS, labels, allow_pickle=False)
        seconds = time.perf_counter() - started
        record = {**meta, "images": shape[0], "build_seconds": round(seconds, 2)}
        (building / META).write_text(json.dumps(record, indent=2) + "\n")
        try:
            os.rename(building, folder)
        except OSError:  # another process finished the same entry first: use theirs
            shutil.rmtree(building, ignore_errors=True)
        rate = shape[0] / max(seconds, 1e-9)
        log.info("Cached %d images in %s (%.0f images/s)", shape[0], folder, rate)
    except OSError as error:
        shutil.rmtree(building, ignore_errors=True)
        if error.errno != errno.ENOSPC:
            raise
        raise DataError(
            f"no space left on the device for the image cache in {folder.parent}: "
            "free some space or set data.cache_dir elsewhere"
        ) from None
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    found = open_cached(folder)
    if found is None:
        raise DataError(f"the image cache {folder} cannot be read back: delete it and run again")
    return found


def _write_images(
    path: Path, shape: tuple[int, ...], blocks: Iterable[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Write the blocks' images as one .npy file, with plain writes (a full disk raises OSError).

    A memory map written on a full disk would end the process with SIGBUS instead.
    """
    labels, written = [], 0
    with open(path, "wb") as out:
        header = {"descr": "|u1", "fortran_order": False, "shape": tuple(shape)}
        np.lib.format.write_array_header_1_0(out, header)
        for images, block_labels in blocks:
            if images.dtype != np.uint8 or images.shape[1:] != tuple(shape[1:]):
                raise ValueError(f"cache block of {images.dtype} {images.shape}, not {shape}")
            out.write(np.ascontiguousarray(images).tobytes())
            labels.append(np.asarray(block_labels, dtype=np.int64))
            written += len(images)
        out.flush()
        os.fsync(out.fileno())
    if written != shape[0]:
        raise ValueError(f"the cache received {written} images, not {shape[0]}")
    return np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)
