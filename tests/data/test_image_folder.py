"""data=image_folder: the user's own images, cached once as uint8 and memory-mapped."""

from __future__ import annotations

import os

import numpy as np
import pytest
from helpers.data_formats import write_image_folder

from vae_exp.data import ImageFolderDataModule
from vae_exp.foundation.errors import ConfigError, DataError


def _module(tmp_path, path, **settings):
    return ImageFolderDataModule(path=path, data_dir=tmp_path / "data", **settings)


def test_class_folders_give_labels_names_and_the_chosen_shape(tmp_path):
    images = write_image_folder(tmp_path / "pets", {"cat": 6, "dog": 4}, size=(30, 40))
    module = _module(tmp_path, images, image_size=[12, 20], channels=3, val_split=2)
    module.setup()
    assert module.image_shape == (3, 12, 20)
    assert module.class_names == ("cat", "dog") and module.classes == (0, 1)
    x, _ = next(iter(module.train_dataloader()))
    assert x.dtype.is_floating_point and x.shape[1:] == (3, 12, 20)
    assert x.min() >= 0 and x.max() <= 1
    train, val = module.splits["train"], module.splits["val"]
    assert len(train) == 8 and len(val) == 2
    labels = sorted(train.labels[train.rows].tolist() + val.labels[val.rows].tolist())
    assert labels == [0] * 6 + [1] * 4
    # Never float32 in memory: the images are a read-only uint8 memory map.
    assert isinstance(train.images, np.memmap) and train.images.dtype == np.uint8


def test_a_flat_folder_is_unlabelled_and_grey_on_request(tmp_path):
    images = write_image_folder(tmp_path / "flat", size=(20, 20))
    module = _module(tmp_path, images, image_size=16, channels=1)
    module.setup()
    assert module.class_names is None and module.classes is None
    assert module.image_shape == (1, 16, 16)
    assert len(module.splits["val"]) == 2  # a tenth of 24, rounded


def test_resizing_keeps_the_aspect_and_cuts_the_centre(tmp_path):
    from PIL import Image

    folder = tmp_path / "one"
    folder.mkdir()
    pixels = np.zeros((20, 60), np.uint8)
    pixels[:, 20:40] = 255  # a white band in the middle third
    Image.fromarray(pixels).save(folder / "band.png")
    module = _module(tmp_path, folder, image_size=20, channels=1, val_split=0)
    images = module.read_arrays().train.images
    assert images.shape == (1, 1, 20, 20)
    assert images[0, 0, :, 2:18].min() == 255  # the centre square is the band


def test_a_later_run_reads_the_cache_and_a_changed_folder_is_read_again(tmp_path):
    images = write_image_folder(tmp_path / "pets", {"cat": 3, "dog": 3})
    first = _module(tmp_path, images).read_arrays().train.images
    entries = sorted((tmp_path / "data" / "cache").iterdir())
    assert len(entries) == 1
    # The same folder again: the same entry, and no file is decoded. A file garbled in place
    # with its size and time kept would fail to decode.
    garbled = images / "dog" / "002.png"
    stat = garbled.stat()
    garbled.write_bytes(b"x" * stat.st_size)
    os.utime(garbled, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = _module(tmp_path, images).read_arrays().train.images
    assert again.filename == first.filename
    # A changed image makes a new entry; the old one is kept.
    garbled.write_bytes((images / "dog" / "001.png").read_bytes())
    changed = images / "cat" / "000.png"
    changed.write_bytes((images / "dog" / "000.png").read_bytes())
    renewed = _module(tmp_path, images).read_arrays().train.images
    assert renewed.filename != first.filename
    assert len(list((tmp_path / "data" / "cache").iterdir())) == 2
    np.testing.assert_array_equal(renewed[0], renewed[3])


def test_a_damaged_image_is_named_and_leaves_no_half_cache(tmp_path):
    images = write_image_folder(tmp_path / "pets", {"cat": 3})
    (images / "cat" / "001.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=r"001\.png is not a readable image"):
        _module(tmp_path, images).read_arrays()
    assert list((tmp_path / "data" / "cache").iterdir()) == []


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("empty", "holds no images and no class folders"),
        ("empty_class", "the class folder dog/ holds no images"),
        ("missing", "is not a folder"),
    ],
)
def test_folders_that_cannot_work_get_one_line(tmp_path, layout, message):
    root = tmp_path / "images"
    if layout != "missing":
        root.mkdir()
    if layout == "empty_class":
        write_image_folder(root, {"cat": 2})
        (root / "dog").mkdir()
    with pytest.raises(DataError, match=message):
        _module(tmp_path, root).read_arrays()


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({"path": None}, "path"),
        ({"image_size": 0}, "image_size"),
        ({"image_size": [64, 48, 3]}, "image_size"),
        ({"channels": 2}, "channels"),
        ({"batch_size": 0}, "batch_size"),
        ({"val_split": 1.5}, "val_split"),
    ],
)
def test_bad_settings_are_refused_when_the_module_is_made(tmp_path, settings, setting):
    with pytest.raises(ConfigError) as refused:
        ImageFolderDataModule(**{"path": tmp_path, "data_dir": tmp_path, **settings})
    assert refused.value.setting == setting
