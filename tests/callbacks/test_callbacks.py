"""A tiny training with every callback, read back from its TensorBoard event files."""

from __future__ import annotations

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

import vae_exp

from conftest import TINY_RUN

TILE, GAP = 28, 1


def _side(tiles: int) -> int:
    return tiles * TILE + (tiles - 1) * GAP


def _image_sizes(events: EventAccumulator, tag: str) -> list[tuple[int, int]]:
    return [(image.height, image.width) for image in events.Images(tag)]


def test_image_tags_every_epoch_with_their_sizes(trained_run):
    _, run = trained_run
    events = run["events"]
    expected = {
        "images/reconstructions": (4 * TILE + 3, _side(8)),  # 8 ones, 8 eights, each over its recon
        "images/latent_traversal": (_side(4), _side(8)),  # one row per latent dimension
        "images/latent_grid/1_2": (_side(9), _side(9)),  # 260 x 260
        "images/latent_grid/0_3": (_side(9), _side(9)),
        "images/samples": (_side(8), _side(8)),
    }
    for tag, size in expected.items():
        assert _image_sizes(events, tag) == [size, size], tag  # after epoch 1 and epoch 2
    for tag in ("latent/scatter", "figures/latent_grid/1_2", "figures/latent_grid/0_3"):
        assert events.Images(tag), tag


def test_latent_statistics_are_logged(trained_run):
    _, run = trained_run
    scalars = run["events"].Tags()["scalars"]
    assert {f"val/kl_dim/{d}" for d in range(4)} | {"val/active_units"} <= set(scalars)
    metrics = run["record"]["metrics"]
    assert 0 <= metrics["val/active_units"] <= 4
    assert all(metrics[f"val/kl_dim/{d}"] >= 0 for d in range(4))


def test_hparams_tab_declares_the_metrics(trained_run):
    _, run = trained_run
    content = run["events"].PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    declared = {info.name.tag for info in experiment.experiment.metric_infos}
    assert declared == {"val/loss", "val/neg_elbo", "val/active_units"}
    assert declared <= set(run["events"].Tags()["scalars"])  # so the columns have values
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]
    ).session_start_info
    assert start.hparams["latent_dim"].number_value == 4
    assert start.hparams["optimizer"].string_value == "RMSprop"
    assert start.hparams["digits"].string_value == "1,8"
    assert start.hparams["data_source"].string_value == "full"


def test_figures_are_written_as_png_files(trained_run):
    run_dir, _ = trained_run
    names = {p.name for p in (run_dir / "figures").iterdir()}
    assert names == {
        "reconstructions.png",
        "latent_traversal.png",
        "latent_grid_1_2.png",
        "latent_grid_0_3.png",
        "samples.png",
        "scatter.png",
    }
    assert all((run_dir / "figures" / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)


def test_projector_embedding_is_written(trained_run):
    run_dir, _ = trained_run
    assert "latent_means" in (run_dir / "projector_config.pbtxt").read_text()
    metadata = next(run_dir.glob("*/latent_means/metadata.tsv")).read_text().split()
    assert set(metadata) == {"1", "8"}


def test_drawing_does_not_change_training(compose_train, small_mnist_dir):
    common = (*TINY_RUN, "trainer.max_epochs=2", f"data.data_dir={small_mnist_dir}")
    drawn = vae_exp.fit(compose_train(*common))["metrics"]
    plain = vae_exp.fit(compose_train(*common, "callbacks=none", "logger=none"))["metrics"]
    assert drawn["val/loss"] == plain["val/loss"]
    assert drawn["train/loss"] == plain["train/loss"]
