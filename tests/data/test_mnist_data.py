"""MNIST loading, checks of the raw files, digit filtering and validation splits."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_exp.data import MNISTDigitsDataModule, mnist_sources
from vae_exp.data.mnist_files import raw_folder
from vae_exp.foundation.errors import DataError


@pytest.fixture
def no_download(monkeypatch):
    def fail(data_dir, spec):
        raise mnist_sources._FullSetUnavailable("no network in this test")

    monkeypatch.setattr(mnist_sources, "_download", fail)


def _labels(dataset) -> torch.Tensor:
    return dataset.tensors[1]


def test_filters_both_splits_to_the_digits(small_mnist_dir):
    dm = MNISTDigitsDataModule(digits=[0, 6, 9], data_dir=small_mnist_dir, source="full")
    dm.setup()
    assert dm.source_used == "full"
    assert set(_labels(dm.train_set).tolist()) == {0, 6, 9}
    assert len(dm.train_set) == 90 and len(dm.val_set) == 30  # 10% of each split per digit
    assert dm.val_set is dm.test_set  # the reference validates on the test split
    images = dm.train_set.tensors[0]
    assert images.dtype == torch.float32 and images.shape[1:] == (1, 28, 28)
    assert images.min() >= 0.0 and images.max() <= 1.0 and images.max() > 0.9


def test_images_keep_their_pixel_values(small_mnist_dir):
    from torchvision.datasets import MNIST

    raw = MNIST(root=str(small_mnist_dir), train=True)
    dm = MNISTDigitsDataModule(digits=[3], data_dir=small_mnist_dir, source="full")
    dm.setup()
    expected = raw.data[raw.targets == 3].float() / 255
    torch.testing.assert_close(dm.train_set.tensors[0][:, 0], expected)


def test_val_split_holds_out_training_images(small_mnist_dir):
    dm = MNISTDigitsDataModule(digits=[1, 8], data_dir=small_mnist_dir, val_split=0.25, seed=3)
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set)) == (45, 15)
    train, val = dm.train_set.tensors[0], dm.val_set.tensors[0]
    assert not any(torch.equal(v, t) for v in val for t in train)
    again = MNISTDigitsDataModule(digits=[1, 8], data_dir=small_mnist_dir, val_split=0.25, seed=3)
    again.setup()
    torch.testing.assert_close(again.val_set.tensors[0], val)


def test_loaders_batch_and_shuffle(small_mnist_dir):
    dm = MNISTDigitsDataModule(digits=[1, 8], data_dir=small_mnist_dir, batch_size=16)
    dm.setup()
    batches = list(dm.train_dataloader())
    assert [len(b[0]) for b in batches] == [16, 16, 16, 12]
    torch.manual_seed(0)
    first = next(iter(dm.train_dataloader()))[1]
    torch.manual_seed(1)
    assert not torch.equal(first, next(iter(dm.train_dataloader()))[1])


@pytest.mark.slow
def test_auto_falls_back_to_the_packaged_sample_with_a_warning(tmp_path, no_download, caplog):
    dm = MNISTDigitsDataModule(digits=[1, 8], data_dir=tmp_path, source="auto")
    with caplog.at_level(logging.WARNING):
        dm.setup()
    assert dm.source_used == "sample"
    assert "FALLING BACK" in caplog.text and "VAE_EXP_DATA_DIR" in caplog.text
    # 500 images per digit in the sample; without a test split 20% of them validate.
    assert (len(dm.train_set), len(dm.val_set)) == (800, 200)
    assert set(_labels(dm.val_set).tolist()) == {1, 8}


def test_full_without_files_or_network_is_an_error(tmp_path, no_download):
    dm = MNISTDigitsDataModule(data_dir=tmp_path, source="full")
    with pytest.raises(DataError, match=r"data.source='full'.*VAE_EXP_DATA_DIR"):
        dm.setup()


def _damage(folder: Path, name: str, how: str) -> Path:
    path = raw_folder(folder) / name
    data = bytearray(path.read_bytes())
    if how == "truncate":
        data = data[: len(data) - 100]
    elif how == "magic":
        data[2:4] = b"\x09\x09"
    path.write_bytes(bytes(data))
    return path


def test_image_and_label_files_that_disagree_are_named(small_mnist_dir):
    from conftest import write_idx

    labels = raw_folder(small_mnist_dir) / "train-labels-idx1-ubyte"
    write_idx(labels, np.arange(299) % 10)  # one label short of the 300 images
    dm = MNISTDigitsDataModule(data_dir=small_mnist_dir, source="full")
    with pytest.raises(DataError, match=r"disagree: 300 images but 299 labels"):
        dm.setup()


@pytest.mark.parametrize("how", ["truncate", "magic"])
@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
def test_damaged_file_is_named(small_mnist_dir, name, how):
    path = _damage(small_mnist_dir, name, how)
    dm = MNISTDigitsDataModule(data_dir=small_mnist_dir, source="auto")
    with pytest.raises(DataError, match=str(path)):
        dm.setup()


def test_full_set_counts(shared_data_dir):
    dm = MNISTDigitsDataModule(digits=[1, 8], data_dir=shared_data_dir, source="full")
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set)) == (12_593, 2_109)
    counts = torch.bincount(_labels(dm.train_set), minlength=10)
    assert (counts[1].item(), counts[8].item()) == (6_742, 5_851)


def test_corrupt_copy_of_an_official_file_fails_its_checksum(shared_data_dir, tmp_path):
    folder = raw_folder(tmp_path)
    folder.mkdir(parents=True)
    for source in raw_folder(shared_data_dir).iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    path = folder / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF  # one pixel changed: header and length still right
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte is corrupt.*SHA-256"):
        mnist_sources.load_mnist(tmp_path, "full")
