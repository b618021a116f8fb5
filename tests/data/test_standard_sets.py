"""CIFAR-10, CelebA, dSprites and Shapes3D from small files in their official formats."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from helpers.data_formats import (
    DSPRITES_SIZES,
    SHAPES3D_SIZES,
    Marker,
    write_celeba,
    write_cifar10,
    write_dsprites,
    write_shapes3d,
)

from vae_exp.data import (
    CelebADataModule,
    CIFAR10DataModule,
    DSpritesDataModule,
    Shapes3DDataModule,
)
from vae_exp.data.cifar10 import OFFICIAL_MD5, read_batch
from vae_exp.foundation.errors import DataError


def test_cifar10_reads_the_pickled_batches_and_validates_on_the_test_split(tmp_path):
    data_dir = write_cifar10(tmp_path / "data", per_file=12)
    module = CIFAR10DataModule(data_dir=data_dir)
    module.setup()
    assert module.image_shape == (3, 32, 32)
    assert len(module.splits["train"]) == 60 and len(module.splits["val"]) == 12
    assert module.splits["val"] is module.splits["test"]
    assert module.class_names[:2] == ("airplane", "automobile")
    # Rows are channel-major, as the official files store them.
    raw = pickle.loads((data_dir / "cifar-10-batches-py" / "data_batch_1").read_bytes())
    first = np.asarray(module.splits["train"].images[0])
    np.testing.assert_array_equal(first.reshape(-1), raw[b"data"][0])


def test_a_pickle_that_names_a_function_is_refused_without_running_it(tmp_path):
    data_dir = write_cifar10(tmp_path / "data")
    marker = tmp_path / "ran"
    hostile = {b"data": Marker(marker), b"labels": []}
    (data_dir / "cifar-10-batches-py" / "data_batch_3").write_bytes(pickle.dumps(hostile, 2))
    refused = r"data_batch_3 is not a data set's batch file.*(os|posix)\.system"
    with pytest.raises(DataError, match=refused):
        CIFAR10DataModule(data_dir=data_dir).setup()
    assert not marker.exists()


def test_a_cifar_file_of_the_official_size_must_have_the_official_checksum(tmp_path):
    data_dir = write_cifar10(tmp_path / "data", per_file=10_000, files=("data_batch_1",))
    with pytest.raises(DataError, match="data_batch_1 has the official file's size but not its MD"):
        read_batch(data_dir / "cifar-10-batches-py" / "data_batch_1")
    assert set(OFFICIAL_MD5) == {*(f"data_batch_{n}" for n in range(1, 6)), "test_batch"}


def test_a_missing_cifar_file_says_where_it_goes(tmp_path):
    data_dir = write_cifar10(tmp_path / "data")
    (data_dir / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DataError, match=r"needs .*cifar-10-batches-py/test_batch: unpack"):
        CIFAR10DataModule(data_dir=data_dir).setup()


def test_celeba_uses_the_official_partition_and_the_centre_crop(tmp_path):
    data_dir = write_celeba(tmp_path / "data", splits=(8, 3, 2))
    module = CelebADataModule(data_dir=data_dir, image_size=32)
    module.setup()
    assert module.image_shape == (3, 32, 32)
    assert [len(module.splits[s]) for s in ("train", "val", "test")] == [8, 3, 2]
    assert module.class_names is None
    _, labels = next(iter(module.val_dataloader()))
    assert labels.tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("line", "message"),
    [("000001.jpg 7", "line 1 is not"), ("../../etc/passwd 0", "line 1 is not")],
)
def test_a_damaged_celeba_partition_names_its_line(tmp_path, line, message):
    data_dir = write_celeba(tmp_path / "data", splits=(2, 0, 0))
    (data_dir / "celeba" / "list_eval_partition.txt").write_text(line + "\n")
    with pytest.raises(DataError, match=message):
        CelebADataModule(data_dir=data_dir).setup()


def test_a_missing_celeba_image_is_named(tmp_path):
    data_dir = write_celeba(tmp_path / "data", splits=(3, 0, 0))
    (data_dir / "celeba" / "img_align_celeba" / "000002.jpg").unlink()
    with pytest.raises(DataError, match=r"000002\.jpg is missing"):
        CelebADataModule(data_dir=data_dir).setup()


def test_dsprites_keeps_its_factors_and_never_opens_the_pickled_metadata(tmp_path):
    marker = tmp_path / "ran"
    data_dir = write_dsprites(tmp_path / "data", marker=marker)
    module = DSpritesDataModule(data_dir=data_dir)
    module.setup()
    assert not marker.exists()
    assert module.image_shape == (1, 64, 64)
    assert module.factors.sizes == DSPRITES_SIZES
    assert module.class_names == ("square", "ellipse", "heart")
    images = module.splits["train"].images
    assert set(np.unique(images[:50])) <= {0, 255}
    # Real images along a factor: all else equal, the factor in order.
    rows = module.factors.images_along(3, count=10)
    classes = module.factors.classes[rows]
    assert classes[:, 3].tolist() == list(range(DSPRITES_SIZES[3]))
    assert (classes[:, [0, 1, 2, 4, 5]] == classes[0, [0, 1, 2, 4, 5]]).all()
    walks = dict(module.factors.walks(10))
    assert set(walks) == {"shape", "scale", "orientation", "pos_x", "pos_y"}  # color is fixed
    assert walks["orientation"].shape == (3, 1, 64, 64)


def test_a_dsprites_file_of_another_shape_is_refused(tmp_path):
    folder = tmp_path / "data" / "dsprites"
    folder.mkdir(parents=True)
    np.savez(
        folder / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
        imgs=np.zeros((4, 32, 32), np.uint8),
        latents_classes=np.zeros((4, 6), np.int64),
        latents_values=np.zeros((4, 6)),
    )
    with pytest.raises(DataError, match=r"imgs is uint8 \[4, 32, 32\], not uint8 \[N, 64, 64\]"):
        DSpritesDataModule(data_dir=tmp_path / "data").setup()


def test_shapes3d_reads_the_hdf5_file_with_its_factors(tmp_path):
    pytest.importorskip("h5py")
    data_dir = write_shapes3d(tmp_path / "data")
    module = Shapes3DDataModule(data_dir=data_dir)
    module.setup()
    assert module.image_shape == (3, 64, 64)
    assert module.factors.sizes == SHAPES3D_SIZES
    assert module.classes == (0, 1, 2, 3)
    x, y = next(iter(module.val_dataloader()))
    assert x.shape[1:] == (3, 64, 64) and y.max() <= 3


def test_a_missing_standard_file_says_where_it_goes(tmp_path):
    for module, name in ((DSpritesDataModule, "dsprites"), (Shapes3DDataModule, "3dshapes.h5")):
        with pytest.raises(DataError, match=f"needs .*{name}.*data.data_dir"):
            module(data_dir=tmp_path).setup()
