"""The LATENT tab's routes, asked as TensorBoard asks them: runs, decoding, the map, refusals."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.data_formats import write_image_folder
from helpers.explore_settings import explore_settings
from helpers.latent_tab import Routes, pixels, train_into

from vae_exp.exploration import explore
from vae_exp.models.metrics import kl_dim_name
from vae_exp.runs.layout import CHECKPOINT_DIR

from conftest import write_small_mnist


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> Path:
    """A logdir with one readable run, one with a damaged checkpoint and one that names code."""
    root = tmp_path_factory.mktemp("tab")
    data_dir = write_small_mnist(root / "data")
    logdir = root / "outputs"
    run = train_into(logdir, "plain", data_dir)
    (checkpoint,) = (run / CHECKPOINT_DIR).glob("epoch=*.ckpt")
    damaged = logdir / "runs" / "damaged" / CHECKPOINT_DIR
    damaged.mkdir(parents=True)
    (damaged / "last.ckpt").write_bytes(checkpoint.read_bytes()[:4000])  # cut short
    untrusted = logdir / "runs" / "untrusted" / CHECKPOINT_DIR
    untrusted.mkdir(parents=True)
    contents = torch.load(checkpoint, weights_only=True)
    contents["hyper_parameters"]["encoder"]["_target_"] = "os.system"
    torch.save(contents, untrusted / "last.ckpt")
    return logdir


@pytest.fixture(scope="module")
def routes(logdir) -> Routes:
    return Routes(logdir)


def test_runs_lists_each_run_with_its_latent_size_and_slider_order(routes, logdir):
    listing = routes.json("/runs")
    runs = {entry["run"]: entry for entry in listing["runs"]}
    assert set(runs) == {"runs/plain", "runs/damaged", "runs/untrusted"}
    plain = runs["runs/plain"]
    assert plain["latent_dim"] == 4 and plain["image_shape"] == [1, 28, 28]
    assert plain["conditional"] is False and plain["classes"] is None and plain["error"] is None
    metrics = json.loads((logdir / "runs" / "plain" / "results.json").read_text())["metrics"]
    recorded = [metrics[kl_dim_name(d)] for d in range(4)]
    assert plain["kl"] == pytest.approx(recorded) and plain["kl_source"] == "recorded"
    assert plain["slider_order"] == sorted(range(4), key=lambda d: -recorded[d])
    assert routes.plugin.is_active()


def test_a_run_that_cannot_be_read_is_listed_with_the_reason(routes):
    runs = {entry["run"]: entry for entry in routes.json("/runs")["runs"]}
    assert "has no readable checkpoint" in runs["runs/damaged"]["error"]
    assert "os.system" in runs["runs/untrusted"]["error"]
    assert "not a class" in runs["runs/untrusted"]["error"]
    status, body = routes.get("/decode", run="runs/untrusted", z="0,0,0,0")
    assert status == 400 and b"os.system" in body and b"\n" not in body


def test_the_decoded_picture_is_the_one_explore_draws(routes, logdir, tmp_path):
    status, png = routes.get("/decode", run="runs/plain", z="0,1.5,-0.5,0")
    assert status == 200 and png.startswith(b"\x89PNG")
    settings = explore_settings(logdir / "runs" / "plain", z=[0, 1.5, -0.5, 0], out=str(tmp_path))
    (drawn,) = explore(settings)
    assert np.array_equal(pixels(png), pixels(drawn.read_bytes()))
    other = routes.get("/decode", run="runs/plain", z="3,-3,3,-3")[1]
    assert not np.array_equal(pixels(png), pixels(other))


def test_the_traversal_strip_is_explores_traversal_of_that_vector(routes, logdir, tmp_path):
    status, png = routes.get("/traversal", run="runs/plain", z="0.5,0,0,1", dim=2)
    assert status == 200
    settings = explore_settings(
        logdir / "runs" / "plain", **{"traversal.dim": 2, "traversal.base": [0.5, 0, 0, 1]}
    )
    settings.out = str(tmp_path)
    (drawn,) = explore(settings)
    assert np.array_equal(pixels(png), pixels(drawn.read_bytes()))


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"z": "0,1,0"}, "4 numbers: the run's latent space has 4 dimensions"),
        ({"z": "0,1,x,0"}, "'x' is not a number"),
        ({"z": "0,nan,0,0"}, "nan is not a finite number"),
        ({"z": "0,inf,0,0"}, "inf is not a finite number"),
        ({}, "z is missing"),
        ({"z": "0,0,0,0", "label": "1"}, "the run is not conditional"),
        ({"z": "0,0,0,0", "label": "one"}, "label=one is not allowed: a whole number"),
    ],
)
def test_a_bad_vector_is_refused_with_400_and_one_line(routes, query, reason):
    status, body = routes.get("/decode", run="runs/plain", **query)
    assert status == 400
    assert reason in body.decode() and "\n" not in body.decode()


def test_only_runs_under_the_logdir_can_be_named(routes, logdir, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (logdir / "runs" / "link").symlink_to(logdir / "runs" / "plain")
    try:
        names = {entry["run"] for entry in routes.json("/runs")["runs"]}
        assert "runs/link" not in names  # links are not followed
        for name in (
            str(logdir / "runs" / "plain"),
            "../outputs/runs/plain",
            str(outside),
            "runs/link",
        ):
            status, body = routes.get("/decode", run=name, z="0,0,0,0")
            assert status == 404 and b"not a run folder with a checkpoint under the logdir" in body
    finally:
        os.unlink(logdir / "runs" / "link")


def test_the_map_places_the_validation_images_and_clicks_give_image_and_reconstruction(routes):
    answer = routes.json("/map", run="runs/plain")
    assert answer["error"] is None and answer["axes"] == ["PC 1", "PC 2"]
    points = answer["points"]
    # The small set's test images (the validation split) hold ten 1s and ten 8s: each a point.
    assert sorted(point["label"] for point in points) == [1] * 10 + [8] * 10
    assert all(len(point["z"]) == 4 for point in points)
    chosen = routes.json("/map", run="runs/plain", dims="2,0")
    assert chosen["axes"] == ["z2", "z0"]
    assert [(p["x"], p["y"]) for p in chosen["points"]] == [(p["z"][2], p["z"][0]) for p in points]
    status, png = routes.get("/image", run="runs/plain", index=7)
    assert status == 200
    picture = pixels(png)
    decoded = pixels(
        routes.get("/decode", run="runs/plain", z=",".join(map(str, points[7]["z"])))[1]
    )
    right = picture[:, -decoded.shape[1] :]
    assert np.abs(right.astype(int) - decoded.astype(int)).max() <= 1  # its reconstruction
    assert routes.get("/image", run="runs/plain", index=20)[0] == 400
    assert routes.get("/map", run="runs/plain", dims="0,9")[0] == 400


@pytest.mark.slow
def test_a_conditional_run_decodes_the_class_asked_for(tmp_path):
    data_dir = write_small_mnist(tmp_path / "data")
    run = train_into(tmp_path / "outputs", "conditional", data_dir, "conditional=true")
    routes = Routes(tmp_path / "outputs")
    (entry,) = routes.json("/runs")["runs"]
    assert entry["conditional"] is True and entry["classes"] == [1, 8]
    status, body = routes.get("/decode", run="runs/conditional", z="0,0,0,0")
    assert status == 400 and b"one of the run's classes [1, 8]" in body
    ones = routes.get("/decode", run="runs/conditional", z="0,1,0,0", label=1)[1]
    eights = routes.get("/decode", run="runs/conditional", z="0,1,0,0", label=8)[1]
    (drawn,) = explore(explore_settings(run, z=[0, 1, 0, 0], label=8, out=str(tmp_path)))
    assert np.array_equal(pixels(eights), pixels(drawn.read_bytes()))
    assert not np.array_equal(pixels(ones), pixels(eights))
    assert routes.get("/image", run="runs/conditional", index=0)[0] == 200


@pytest.mark.slow
def test_colour_images_of_any_size_are_decoded_and_mapped_in_colour(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where the tab caches images
    folder = write_image_folder(tmp_path / "pictures", {"cats": 30, "dogs": 30}, size=(20, 24))
    train_into(
        tmp_path / "outputs",
        "colour",
        tmp_path / "data",
        "data=image_folder",
        f"data.path={folder}",
        "data.image_size=[20,24]",
        "data.channels=3",
        "data.batch_size=8",
        "latent_dim=2",
    )
    routes = Routes(tmp_path / "outputs")
    (entry,) = routes.json("/runs")["runs"]
    assert entry["image_shape"] == [3, 20, 24]
    picture = pixels(routes.get("/decode", run="runs/colour", z="0.5,-1")[1])
    assert picture.shape[2] == 3 and picture.shape[0] * 24 == picture.shape[1] * 20
    assert not np.array_equal(picture[..., 0], picture[..., 1])  # not grey
    answer = routes.json("/map", run="runs/colour")
    assert answer["axes"] == ["z0", "z1"]  # two dimensions: the map is the latent space itself
    assert answer["class_names"] == {"0": "cats", "1": "dogs"}


def test_a_run_without_recorded_kl_is_ordered_by_its_validation_images(routes, logdir):
    copy = logdir / "runs" / "unrecorded"
    shutil.copytree(logdir / "runs" / "plain", copy)
    try:
        record = json.loads((copy / "results.json").read_text())
        record["metrics"] = {k: v for k, v in record["metrics"].items() if "kl_dim" not in k}
        (copy / "results.json").write_text(json.dumps(record))
        runs = {entry["run"]: entry for entry in routes.json("/runs")["runs"]}
        entry = runs["runs/unrecorded"]
        assert entry["kl_source"] == "validation" and len(entry["kl"]) == 4
        assert entry["slider_order"] == sorted(range(4), key=lambda d: -entry["kl"][d])
        # Computed afresh on the same validation images by the same model: what the run recorded.
        assert entry["kl"] == pytest.approx(runs["runs/plain"]["kl"], rel=1e-4)
    finally:
        shutil.rmtree(copy)


def test_without_a_logdir_nothing_is_listed_not_even_the_working_directory(logdir, monkeypatch):
    monkeypatch.chdir(logdir)  # a folder full of runs, which an empty path would name
    routes = Routes("")
    assert routes.json("/runs")["runs"] == [] and not routes.plugin.is_active()
    assert routes.get("/decode", run="runs/plain", z="0,0,0,0")[0] == 404
