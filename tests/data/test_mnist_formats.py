"""The other MNIST-format data sets, read from their own files."""

from __future__ import annotations

import pytest
import yaml

from vae_exp.foundation.errors import DataError

from conftest import train_tiny, write_small_mnist


@pytest.mark.parametrize(
    ("choice", "folder"), [("fashion_mnist", "FashionMNIST"), ("kmnist", "KMNIST")]
)
def test_other_data_sets_train_from_their_own_files(compose_train, tmp_path, choice, folder):
    data_dir = write_small_mnist(tmp_path / "data", folder)
    record, run_dir = train_tiny(
        compose_train, data_dir, f"data={choice}", "digits=[0,9]", "network=mlp"
    )
    assert record["status"] == "completed" and record["data_source"] == "full"
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["data"]["dataset"] == choice


def test_a_data_set_without_its_files_is_refused_naming_its_folder(compose_train, tmp_path):
    write_small_mnist(tmp_path / "data")  # MNIST is there, KMNIST is not
    with pytest.raises(DataError) as refused:
        train_tiny(compose_train, tmp_path / "data", "data=kmnist")
    message = str(refused.value)
    assert "data=kmnist" in message and str(tmp_path / "data" / "KMNIST" / "raw") in message
    assert "sample" not in message  # KMNIST has no packaged sample to suggest
    with pytest.raises(DataError, match="data=kmnist: it has none"):
        train_tiny(compose_train, tmp_path / "data", "data=kmnist", "data.source=sample")


def test_a_damaged_file_of_another_data_set_is_named(compose_train, tmp_path):
    data_dir = write_small_mnist(tmp_path / "data", "FashionMNIST")
    damaged = data_dir / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte"
    damaged.write_bytes(damaged.read_bytes()[:-100])
    with pytest.raises(DataError, match=f"MNIST file {damaged} is truncated"):
        train_tiny(compose_train, data_dir, "data=fashion_mnist")
