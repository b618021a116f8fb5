"""Training, exploring and evaluating on images of any size and channel count."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.data_formats import write_dsprites, write_image_folder
from helpers.explore_settings import explore_settings
from PIL import Image

import vae_exp
from vae_exp.exploration import explore
from vae_exp.foundation.errors import ConfigError

TINY = (
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "data.batch_size=4",
    "data.eval_batch_size=8",
)


def _fit(compose_train, tmp_path, *overrides):
    cfg = compose_train(f"paths.data_dir={tmp_path / 'data'}", *TINY, *overrides)
    return vae_exp.fit(cfg), cfg


def _colourful(path) -> bool:
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return bool((np.abs(pixels[..., 0] - pixels[..., 1]) > 8).any())


@pytest.mark.parametrize(
    ("network", "size", "channels"),
    [
        ("conv", "[21,30]", 3),
        pytest.param("conv64", "64", 3, marks=pytest.mark.slow),
        ("mlp", "[12,10]", 1),
    ],
)
def test_an_image_folder_trains_explores_and_evaluates(
    compose_train, tmp_path, network, size, channels
):
    images = write_image_folder(tmp_path / "pets", {"cat": 10, "dog": 10}, size=(40, 50))
    record, _ = _fit(
        compose_train,
        tmp_path,
        "data=image_folder",
        f"data.path={images}",
        f"data.image_size={size}",
        f"data.channels={channels}",
        f"network={network}",
    )
    assert record["status"] == "completed"
    run_dir = tmp_path / "run"
    figures = run_dir / "figures"
    assert {"reconstructions.png", "samples.png", "latent_traversal.png"} <= {
        p.name for p in figures.iterdir()
    }
    assert _colourful(figures / "reconstructions.png") == (channels == 3)

    run = vae_exp.load_run(run_dir)
    height, width = (64, 64) if size == "64" else tuple(int(n) for n in size[1:-1].split(","))
    with torch.no_grad():
        assert run.model.decode(torch.zeros(1, 4)).shape == (1, channels, height, width)
    written = explore(explore_settings(run_dir, z=[0, 1, 0, 0], out=str(tmp_path / "drawn")))
    assert max(Image.open(written[0]).size) >= 180  # drawn large, whatever the image size

    figures = vae_exp.evaluate(run_dir, num_samples=3, data_dir=tmp_path / "data")
    assert figures["images"] == 2 and figures["class_names"] == {"0": "cat", "1": "dog"}
    dims = channels * height * width
    bits = figures["bits_per_dim"]
    assert bits["value"] == pytest.approx(figures["nll"]["mean"] / (dims * np.log(2)))


def test_a_density_likelihood_reports_bits_per_dimension_of_dequantised_images(
    compose_train, tmp_path
):
    images = write_image_folder(tmp_path / "pets", {"cat": 8}, size=(16, 16))
    _fit(
        compose_train,
        tmp_path,
        "data=image_folder",
        f"data.path={images}",
        "data.image_size=8",
        "likelihood=gaussian",
    )
    figures = vae_exp.evaluate(tmp_path / "run", num_samples=2, data_dir=tmp_path / "data")
    bits = figures["bits_per_dim"]
    assert "dequantisation" in bits["convention"] and "log 256" in bits["convention"]
    # A density on [0, 1] turns into probabilities of 256 levels: at most 8 bits of it, and
    # nothing like the nats of the density on [0, 1] alone.
    assert bits["value"] != pytest.approx(figures["nll"]["mean"] / (3 * 64 * np.log(2)), rel=0.05)


def test_conv64_refuses_images_of_another_size_before_training(compose_train, tmp_path):
    images = write_image_folder(tmp_path / "pets", {"cat": 8}, size=(40, 40))
    with pytest.raises(ConfigError, match=r"network=.conv64. is not allowed: images of 64x64"):
        _fit(
            compose_train,
            tmp_path,
            "data=image_folder",
            f"data.path={images}",
            "data.image_size=32",
            "network=conv64",
        )
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_network_image_shape_that_differs_from_the_data_is_refused(compose_train, tmp_path):
    images = write_image_folder(tmp_path / "pets", {"cat": 8}, size=(20, 20))
    with pytest.raises(ConfigError, match=r"network.image_shape=\[1, 28, 28\].*\[3, 16, 16\]"):
        _fit(
            compose_train,
            tmp_path,
            "data=image_folder",
            f"data.path={images}",
            "data.image_size=16",
            "network=mlp",
            "network.image_shape=[1,28,28]",
        )


@pytest.mark.slow
def test_dsprites_draws_real_images_along_each_factor(compose_train, tmp_path):
    write_dsprites(tmp_path / "data")
    record, _ = _fit(compose_train, tmp_path, "data=dsprites", "network=conv64")
    assert record["status"] == "completed"
    drawn = {p.name for p in (tmp_path / "run" / "figures").iterdir()}
    assert {"factors_shape.png", "factors_orientation.png", "factors_pos_x.png"} <= drawn
    assert "factors_color.png" not in drawn  # one colour: nothing varies


def test_a_resumed_or_evaluated_run_writes_its_image_cache_only_in_the_users_own_folder(
    compose_train, tmp_path, monkeypatch
):
    images = write_image_folder(tmp_path / "pets", {"cat": 8}, size=(16, 16))
    _fit(compose_train, tmp_path, "data=image_folder", f"data.path={images}", "data.image_size=8")
    run_dir = tmp_path / "run"
    # The run folder as received from someone else: its config names a cache folder of theirs.
    victim = tmp_path / "someone_elses"
    victim.mkdir()
    config = run_dir / "config.yaml"
    config.write_text(config.read_text().replace(str(tmp_path / "data" / "cache"), str(victim)))
    own = tmp_path / "own_data"
    monkeypatch.setenv("VAE_EXP_DATA_DIR", str(own))

    vae_exp.evaluate(run_dir, num_samples=2, probes=False)
    record = vae_exp.fit(vae_exp.compose(["trainer.max_epochs=2", *TINY[1:]]), resume=run_dir)
    assert record["status"] == "completed" and record["epochs"] == 2
    assert list(victim.iterdir()) == []
    assert [p.name.split("-")[0] for p in (own / "cache").iterdir()] == ["image_folder"]
