"""Networks, likelihoods, objectives and KL warm-up chosen by config: trained, composed, refused."""

from __future__ import annotations

import csv
import itertools
import math

import pytest
import yaml

import vae_exp
from vae_exp.foundation.errors import ConfigError
from vae_exp.pipeline.building import build
from vae_exp.pipeline.checks import check_train_config

from conftest import train_tiny

NETWORKS = ("conv", "mlp")
LIKELIHOODS = ("bernoulli", "continuous_bernoulli", "gaussian")
OBJECTIVES = ("elbo", "iwae")


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
    record, run_dir = train_tiny(
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


@pytest.mark.slow
def test_kl_warmup_raises_the_coefficient_linearly_and_logs_it(compose_train, small_mnist_dir):
    _, run_dir = train_tiny(
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
        train_tiny(compose_train, small_mnist_dir, *overrides)
    assert message in str(refused.value)
