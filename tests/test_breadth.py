"""Networks, likelihoods, objectives, KL warm-up and binarised data, chosen by config."""

from __future__ import annotations

import csv
import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from omegaconf import DictConfig, OmegaConf

import vae_exp
from vae_exp.analysis.probes import knn_accuracy, linear_probe_accuracy
from vae_exp.data.binarization import fresh_draw
from vae_exp.data.datamodule import MNISTDigitsDataModule
from vae_exp.exploration import explore
from vae_exp.foundation.errors import ConfigError, DataError
from vae_exp.models.likelihoods import Bernoulli, ContinuousBernoulli, Gaussian
from vae_exp.models.losses import pixel_bce
from vae_exp.models.objectives import IWAE
from vae_exp.models.vae import VAE
from vae_exp.pipeline.building import build
from vae_exp.pipeline.checks import check_train_config

from conftest import CONFIG_DIR, TINY_RUN, write_small_mnist

NETWORKS = ("conv", "mlp")
LIKELIHOODS = ("bernoulli", "continuous_bernoulli", "gaussian")
OBJECTIVES = ("elbo", "iwae")


# --- likelihoods are densities -------------------------------------------------------------


def _integral(density: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    return torch.trapezoid(density, points, dim=-1)


def test_continuous_bernoulli_is_a_density_on_the_unit_interval():
    logits = torch.tensor([-6.0, -1.0, 0.0, 1e-3, 2.0, 6.0]).unsqueeze(1)
    x = torch.linspace(0, 1, 20001, dtype=torch.float64).expand(len(logits), -1)
    density = ContinuousBernoulli().log_prob(logits.double().expand_as(x), x).exp()
    assert _integral(density, x[0]) == pytest.approx(torch.ones(len(logits)), abs=1e-6)
    # Unlike the Bernoulli "density" of grey levels, which falls short of 1.
    bernoulli = Bernoulli().log_prob(logits.double().expand_as(x), x).exp()
    assert (_integral(bernoulli, x[0])[1:-1] < 0.99).all()


@pytest.mark.parametrize("sigma", [0.05, 0.3, "learned"])
def test_gaussian_is_a_density_and_learns_only_a_learned_sigma(sigma):
    likelihood = Gaussian(sigma).double()
    x = torch.linspace(-8, 9, 200001, dtype=torch.float64)
    output = torch.full_like(x, 0.7)
    density = likelihood.log_prob(output, x).detach().exp()
    assert _integral(density, x).item() == pytest.approx(1.0, abs=1e-6)
    assert likelihood.log_sigma.requires_grad == (sigma == "learned")


def test_bernoulli_is_the_reference_cross_entropy_and_sums_to_one_on_binary_pixels():
    logits = torch.randn(4, 1, 28, 28)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(Bernoulli().log_prob(logits, x), -pixel_bce(logits, x))
    total = sum(Bernoulli().log_prob(logits, torch.full_like(x, v)).exp() for v in (0.0, 1.0))
    assert torch.allclose(total, torch.ones_like(total), atol=1e-5)


def test_pictures_show_each_likelihoods_mean_within_the_unit_interval():
    output = torch.linspace(-30, 30, 101)
    for likelihood in (Bernoulli(), ContinuousBernoulli(), Gaussian(0.1)):
        mean = likelihood.mean(output)
        assert mean.min() >= 0 and mean.max() <= 1 and (mean.diff() >= 0).all()


# --- objectives ------------------------------------------------------------------------------


def _model(*overrides: str):
    return build(vae_exp.compose(list(overrides)).model, "model")


def test_elbo_with_beta_one_is_the_negative_elbo_per_pixel():
    torch.manual_seed(0)
    latent_dim = 6
    model = _model("network=mlp", f"latent_dim={latent_dim}", f"kl_weight={latent_dim / 1568}")
    terms = model.per_image_terms(torch.rand(8, 1, 28, 28))[0]
    assert torch.allclose(terms.loss * 784, terms.neg_elbo, rtol=1e-5)


def test_iwae_bound_tightens_with_more_samples_and_k1_matches_the_elbo():
    torch.manual_seed(0)
    model = _model("network=mlp", "latent_dim=4", "objective=iwae")
    x = torch.bernoulli(torch.rand(64, 1, 28, 28))
    bounds = {}
    with torch.no_grad():
        for k in (1, 50):
            model.objective = IWAE(samples=k)
            draws = [model.per_image_terms(x)[0] for _ in range(20)]
            bounds[k] = -torch.stack([t.loss for t in draws]).mean() * 784
            neg_elbo = torch.stack([t.neg_elbo for t in draws]).mean()
    assert bounds[50] > bounds[1] + 1.0  # nats per image
    assert -bounds[1] == pytest.approx(neg_elbo.item(), rel=0.01)  # K = 1: the ELBO


# --- training with the choices ---------------------------------------------------------------


def _train(compose_train, small_mnist_dir, *overrides: str) -> tuple[dict, Path]:
    cfg = compose_train(f"data.data_dir={small_mnist_dir}", *TINY_RUN, *overrides)
    return vae_exp.fit(cfg), Path(cfg.paths.run_dir)


def _matrix_case(network: str, likelihood: str, objective: str):
    slow = (network, likelihood, objective) not in {
        ("conv", "gaussian", "elbo"),
        ("mlp", "continuous_bernoulli", "iwae"),
    }
    return pytest.param(network, likelihood, objective, marks=pytest.mark.slow if slow else ())


@pytest.mark.parametrize(
    ("network", "likelihood", "objective"),
    [_matrix_case(*case) for case in itertools.product(NETWORKS, LIKELIHOODS, OBJECTIVES)],
)
def test_every_combination_trains_with_its_pictures_and_statistics(
    compose_train, small_mnist_dir, network, likelihood, objective
):
    record, run_dir = _train(
        compose_train,
        small_mnist_dir,
        f"network={network}",
        f"likelihood={likelihood}",
        f"objective={objective}",
        "logger=[tensorboard,csv]",
    )
    assert record["status"] == "completed"
    metrics = record["metrics"]
    assert all(math.isfinite(metrics[name]) for name in ("val/loss", "val/neg_elbo"))
    assert "val/active_units" in metrics and "val/kl_dim/0" in metrics
    run = vae_exp.load_run(run_dir)
    assert {p.name for p in (run.folder / "figures").iterdir()} >= {
        "reconstructions.png",
        "samples.png",
        "latent_traversal.png",
    }
    assert type(run.model.likelihood).__name__.lower() == likelihood.replace("_", "")
    assert type(run.model.objective).__name__.lower() == objective
    hparams = yaml.safe_load((run_dir / "hparams.yaml").read_text())  # every logger's params
    assert hparams["likelihood"].lower().startswith(likelihood.replace("_", ""))
    assert hparams["objective"].lower().startswith(objective)
    assert hparams["network"] == f"{network.capitalize() if network == 'conv' else 'MLP'}Encoder"


@pytest.mark.slow
def test_every_combination_of_every_choice_composes_and_passes_the_checks(compose_train):
    data_sets = ("mnist", "fashion_mnist", "kmnist")
    binarizations = ("none", "dynamic", "static")
    combinations = itertools.product(
        NETWORKS, LIKELIHOODS, OBJECTIVES, data_sets, binarizations, ("false", "true")
    )
    for network, likelihood, objective, data, binarize, conditional in combinations:
        cfg = compose_train(
            f"network={network}",
            f"likelihood={likelihood}",
            f"objective={objective}",
            f"data={data}",
            f"data.binarize={binarize}",
            f"conditional={conditional}",
        )
        check_train_config(cfg)
        model = build(cfg.model, "model")
        assert model.conditional == (conditional == "true") and cfg.data.dataset == data


def test_kl_warmup_raises_the_coefficient_linearly_and_logs_it(compose_train, small_mnist_dir):
    _, run_dir = _train(
        compose_train,
        small_mnist_dir,
        "kl_warmup_epochs=3",
        "trainer.max_epochs=4",
        "kl_weight=0.01",
        "logger=csv",
    )
    with (run_dir / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    # Three steps an epoch: the coefficient at each epoch's end is 0.01 x min(1, steps / 9).
    coefficients = [float(row["train/kl_coefficient"]) for row in rows]
    assert coefficients == pytest.approx([0.01 / 3, 0.02 / 3, 0.01, 0.01])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["network=mlp", "network.hidden=[]"], "network.hidden=[] is not allowed"),
        (["network.init=xavier"], "network.init='xavier' is not allowed: glorot"),
        (["network=mlp", "network.hidden=[400,0]"], "network.hidden=[400, 0] is not allowed"),
        (["likelihood=gaussian", "likelihood.sigma=-1"], "likelihood.sigma=-1 is not allowed"),
        (["likelihood=gaussian", "likelihood.sigma=big"], "likelihood.sigma='big' is not"),
        (["objective=iwae", "objective.samples=0"], "objective.samples=0 is not allowed"),
        (["kl_warmup_epochs=-1"], "kl_warmup_epochs=-1 is not allowed"),
        (["objective=iwae", "kl_warmup_epochs=2"], "no KL weight to warm up"),
        (["data.binarize=yes"], "data.binarize='yes' is not allowed: one of none, dynamic"),
        (["network=mlp", "network.image_shape=[1,32,32]"], "the data's image shape, [1, 28, 28]"),
    ],
)
def test_bad_choices_are_refused_before_training(
    compose_train, small_mnist_dir, overrides, message
):
    with pytest.raises(ConfigError) as refused:
        _train(compose_train, small_mnist_dir, *overrides)
    assert message in str(refused.value)


# --- binarised data --------------------------------------------------------------------------


def _datamodule(small_mnist_dir, binarize: str, seed: int = 0) -> MNISTDigitsDataModule:
    datamodule = MNISTDigitsDataModule(
        digits=range(10), data_dir=small_mnist_dir, source="full", binarize=binarize, seed=seed
    )
    datamodule.setup()
    return datamodule


def _binary(images: torch.Tensor) -> bool:
    return bool(((images == 0) | (images == 1)).all())


def test_binarised_evaluation_images_are_the_same_draw_for_every_run(small_mnist_dir):
    grey = _datamodule(small_mnist_dir, "none")
    first, second = (_datamodule(small_mnist_dir, "dynamic", seed) for seed in (1, 2))
    assert not _binary(grey.val_set.tensors[0])
    assert _binary(first.val_set.tensors[0]) and first.split("test") is first.val_set
    assert torch.equal(first.val_set.tensors[0], second.val_set.tensors[0])
    assert torch.equal(first.train_set.tensors[0], grey.train_set.tensors[0])  # drawn per batch


def test_static_binarisation_draws_the_training_set_once_by_seed(small_mnist_dir):
    first, again, other = (_datamodule(small_mnist_dir, "static", s) for s in (1, 1, 2))
    assert _binary(first.train_set.tensors[0])
    assert torch.equal(first.train_set.tensors[0], again.train_set.tensors[0])
    assert not torch.equal(first.train_set.tensors[0], other.train_set.tensors[0])


def test_dynamic_binarisation_draws_each_training_batch_afresh(compose_train, small_mnist_dir):
    seen: list[torch.Tensor] = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            seen.append(x.detach().clone())
            return x

    cfg = compose_train(f"data.data_dir={small_mnist_dir}", *TINY_RUN, "data.binarize=dynamic")
    cfg.trainer.max_epochs = 2
    cfg.trainer.limit_train_batches = 1
    cfg.data.batch_size = 300  # the whole training set (60 ones and eights) in one batch
    model = build(cfg.model, "model")
    encoder = model.encoder
    model.encoder = torch.nn.Sequential(Spy(), encoder)
    datamodule = build(cfg.data, "data")
    trainer = build(cfg.trainer, "trainer", callbacks=[], logger=False)
    trainer.fit(model, datamodule=datamodule)
    training = [x for x in seen if len(x) == len(datamodule.train_set)]
    assert len(training) == 2 and all(_binary(x) for x in training)
    # Shuffled, so compare what does not depend on the order: the sum of the images.
    assert not torch.equal(training[0].sum(dim=0), training[1].sum(dim=0))


def test_a_fresh_draw_is_binary_with_each_pixels_grey_level_as_its_mean():
    torch.manual_seed(0)
    grey = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0]).repeat(20_000, 1)
    drawn = fresh_draw(grey)
    assert _binary(drawn) and drawn.dtype == grey.dtype
    assert torch.equal(drawn[:, 0], grey[:, 0]) and torch.equal(drawn[:, 4], grey[:, 4])
    # 20,000 draws: the standard error of a mean is at most 0.0036.
    assert torch.allclose(drawn.mean(dim=0), grey[0], atol=0.015)
    assert not torch.equal(drawn, fresh_draw(grey))


# --- evaluation ------------------------------------------------------------------------------


def test_probes_read_classes_from_separable_means_and_not_from_noise():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(600) % 3
    centres = torch.tensor([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    z = centres[labels] + torch.randn(600, 2, generator=generator)
    train, test = slice(0, 400), slice(400, 600)
    assert linear_probe_accuracy(z[train], labels[train], z[test], labels[test]) > 0.97
    assert knn_accuracy(z[train], labels[train], z[test], labels[test]) > 0.97
    noise = torch.randn(600, 2, generator=generator)
    assert linear_probe_accuracy(noise[train], labels[train], noise[test], labels[test]) < 0.5
    assert knn_accuracy(noise[train], labels[train], noise[test], labels[test]) < 0.5


def test_evaluate_uses_the_runs_likelihood_and_binary_test_images(compose_train, small_mnist_dir):
    _, run_dir = _train(
        compose_train,
        small_mnist_dir,
        "network=mlp",
        "likelihood=continuous_bernoulli",
        "data.binarize=static",
        "digits=[0,1,2]",
    )
    result = vae_exp.evaluate(run_dir, num_samples=50)
    assert result["split"] == "test" and result["images"] == 30
    assert vae_exp.evaluate(vae_exp.load_run(run_dir), num_samples=50) == result  # seeded
    assert result["nll"]["mean"] < result["neg_elbo"]["mean"]  # K = 50 is tighter than the ELBO
    assert 0 <= result["linear_probe_accuracy"] <= 1 and 0 <= result["knn_accuracy"] <= 1
    # The figures are the run's own density of the binary test draw: recompute one by hand.
    run = vae_exp.load_run(run_dir)
    datamodule = MNISTDigitsDataModule(
        digits=[0, 1, 2], data_dir=small_mnist_dir, source="full", binarize="static"
    )
    images = datamodule.split("test").tensors[0]
    assert _binary(images)
    with torch.no_grad():
        z_mean, _ = run.model.encode(images)
        output = run.model.decoder(z_mean)
        expected = ContinuousBernoulli().log_prob(output, images).flatten(1).sum(1)
        assert torch.allclose(run.model.log_likelihood(images, z_mean[:, None])[:, 0], expected)


@pytest.mark.slow
def test_a_sweep_over_the_choices_compares_them_with_their_evaluations(
    run_cli, small_mnist_dir, tmp_path
):
    result = run_cli(
        "-m",
        *TINY_RUN,
        "network=conv,mlp",
        "objective=elbo,iwae",
        "likelihood=bernoulli,continuous_bernoulli",
        data_dir=small_mnist_dir,
    )
    assert result.returncode == 0, result.stdout
    (sweep_dir,) = (tmp_path / "outputs" / "multirun").iterdir()
    rows = _summary_rows(sweep_dir)
    assert len(rows) == 8 and all(row["status"] == "completed" for row in rows)
    assert {(r["network"], r["objective"], r["likelihood"]) for r in rows} == set(
        itertools.product(NETWORKS, OBJECTIVES, LIKELIHOODS[:2])
    )
    evaluated = sorted(p for p in sweep_dir.iterdir() if p.is_dir())[:2]
    env = {**os.environ, "VAE_EXP_DATA_DIR": str(small_mnist_dir)}
    for job in evaluated:
        tool = [sys.executable, "-m", "vae_exp.evaluate", f"run={job}", "num_samples=5"]
        assert subprocess.run(tool, env=env, capture_output=True, timeout=300).returncode == 0
    summary = [sys.executable, "-m", "vae_exp.summarize", str(sweep_dir)]
    assert subprocess.run(summary, capture_output=True, timeout=300).returncode == 0
    rows = {row["job"]: row for row in _summary_rows(sweep_dir)}
    for name in ("eval/nll", "eval/linear_probe", "eval/knn"):
        assert all(rows[job.name][name] not in ("", "nan") for job in evaluated), name
        assert sum(row[name] != "nan" for row in rows.values()) == 2, name


def _summary_rows(sweep_dir: Path) -> list[dict[str, str]]:
    with (sweep_dir / "summary.csv").open() as handle:
        return list(csv.DictReader(handle))


# --- the other MNIST-format data sets --------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "folder"), [("fashion_mnist", "FashionMNIST"), ("kmnist", "KMNIST")]
)
def test_other_data_sets_train_from_their_own_files(compose_train, tmp_path, choice, folder):
    data_dir = write_small_mnist(tmp_path / "data", folder)
    record, run_dir = _train(
        compose_train, data_dir, f"data={choice}", "digits=[0,9]", "network=mlp"
    )
    assert record["status"] == "completed" and record["data_source"] == "full"
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["data"]["dataset"] == choice


def test_a_data_set_without_its_files_is_refused_naming_its_folder(compose_train, tmp_path):
    write_small_mnist(tmp_path / "data")  # MNIST is there, KMNIST is not
    with pytest.raises(DataError) as refused:
        _train(compose_train, tmp_path / "data", "data=kmnist")
    message = str(refused.value)
    assert "data=kmnist" in message and str(tmp_path / "data" / "KMNIST" / "raw") in message
    assert "sample" not in message  # KMNIST has no packaged sample to suggest
    with pytest.raises(DataError, match="data=kmnist: it has none"):
        _train(compose_train, tmp_path / "data", "data=kmnist", "data.source=sample")


def test_a_damaged_file_of_another_data_set_is_named(compose_train, tmp_path):
    data_dir = write_small_mnist(tmp_path / "data", "FashionMNIST")
    damaged = data_dir / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte"
    damaged.write_bytes(damaged.read_bytes()[:-100])
    with pytest.raises(DataError, match=f"MNIST file {damaged} is truncated"):
        _train(compose_train, data_dir, "data=fashion_mnist")


# --- conditional VAE ----------------------------------------------------------------------------


def _explore_settings(run_dir: Path, **chosen) -> DictConfig:
    settings = OmegaConf.load(CONFIG_DIR / "explore.yaml")
    for key in ("defaults", "hydra"):
        settings.pop(key)
    settings.run = str(run_dir)
    for key, value in chosen.items():
        OmegaConf.update(settings, key, value)
    return settings


def test_a_conditional_vae_draws_each_class_and_the_one_asked_for(
    compose_train, small_mnist_dir, tmp_path
):
    _, run_dir = _train(compose_train, small_mnist_dir, "conditional=true", "network=mlp")
    figures = {p.name for p in (run_dir / "figures").iterdir()}
    assert {"samples_1.png", "samples_8.png", "latent_traversal_1.png"} <= figures
    run = vae_exp.load_run(run_dir)
    assert run.model.conditional and run.model.classes == (1, 8)
    z = torch.randn(5, run.model.latent_dim)
    with torch.no_grad():
        assert not torch.allclose(run.model.decode(z, 1), run.model.decode(z, 8))
        with pytest.raises(ValueError, match=r"classes \[3\] are not among"):
            run.model.decode(z, 3)

    written = explore(_explore_settings(run_dir, z=[0, 0, 0, 0], label=8, out=str(tmp_path)))
    assert [p.name for p in written] == ["z_0_0_0_0_label8.png"]
    with pytest.raises(ConfigError, match=r"label=None is not allowed: one of the run's classes"):
        explore(_explore_settings(run_dir, z=[0, 0, 0, 0]))


def test_label_is_refused_for_a_run_that_is_not_conditional(compose_train, small_mnist_dir):
    _, run_dir = _train(compose_train, small_mnist_dir, "network=mlp")
    with pytest.raises(ConfigError, match="label=8 is not allowed: null: the run is not"):
        explore(_explore_settings(run_dir, z=[0, 0, 0, 0], label=8))


def test_conditional_needs_a_network_that_takes_the_label():
    with pytest.raises(ConfigError, match="conditional=True is not allowed: false: Flatten takes"):
        VAE(encoder={"_target_": "torch.nn.Flatten"}, conditional=True, classes=[1, 8])


@pytest.mark.slow
def test_a_conditional_vae_trained_on_mnist_draws_the_digit_asked_for(
    compose_train, shared_data_dir
):
    cfg = compose_train(
        f"data.data_dir={shared_data_dir}",
        "conditional=true",
        "trainer.max_epochs=1",
        "trainer.limit_val_batches=5",
        "trainer.enable_progress_bar=false",
        "callbacks=none",
    )
    vae_exp.fit(cfg)
    model = vae_exp.load_run(cfg.paths.run_dir).model
    z = torch.randn(200, model.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ink = {digit: model.decode(z, digit).mean(dim=(1, 2, 3)) for digit in (1, 8)}
    # A 1 has far less ink than an 8: from the same latent vectors, each label gives its digit.
    assert (ink[1] < ink[8]).float().mean() > 0.9
    assert ink[8].mean() > 1.3 * ink[1].mean()
