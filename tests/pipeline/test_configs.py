"""Every config composes; the defaults are the reference experiment; bad values are refused."""

from __future__ import annotations

import math

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from vae_exp.foundation.errors import ConfigError
from vae_exp.pipeline.building import instantiate_all
from vae_exp.pipeline.checks import check_train_config

from conftest import CONFIG_DIR

GROUP_OPTIONS = sorted(
    (path.parent.name, path.stem)
    for path in CONFIG_DIR.glob("*/*.yaml")
    if path.parent.name != "hydra"
)


def test_every_group_has_options():
    assert {group for group, _ in GROUP_OPTIONS} >= {
        "data",
        "model",
        "optimizer",
        "trainer",
        "callbacks",
        "logger",
        "paths",
    }


# The settings an option cannot do without: the folder of the user's own images.
REQUIRED = {("data", "image_folder"): ["data.path=my_images"]}


@pytest.mark.parametrize(("group", "option"), GROUP_OPTIONS)
def test_every_config_file_composes_and_resolves(compose_train, group, option):
    cfg = compose_train(f"{group}={option}", *REQUIRED.get((group, option), []))
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    check_train_config(cfg, on_this_machine=False)


@pytest.mark.parametrize("option", ["rmsprop", "adam", "adamw", "sgd"])
def test_every_optimizer_builds(compose_train, option):
    cfg = compose_train(f"optimizer={option}", "optimizer.lr=0.05")
    optimizer = instantiate(cfg.optimizer)([torch.nn.Parameter(torch.zeros(2))])
    assert type(optimizer).__name__.lower() == option
    assert optimizer.defaults["lr"] == 0.05


def test_callbacks_and_loggers_build(compose_train, tmp_path):
    cfg = compose_train()
    names = {type(c).__name__ for c in instantiate_all(cfg.callbacks).values()}
    assert "BestAndLastCheckpoint" in names
    assert [type(x).__name__ for x in instantiate_all(cfg.logger).values()] == ["TensorBoardLogger"]
    assert instantiate_all(compose_train("callbacks=none").callbacks) == {}


def test_defaults_are_the_reference_experiment(compose_train):
    cfg = compose_train()
    assert list(cfg.digits) == [1, 8] and cfg.latent_dim == 4 and cfg.kl_weight == 5e-4
    assert cfg.optimizer._target_ == "vae_exp.models.optimizers.RMSprop"
    assert (cfg.optimizer.lr, cfg.optimizer.alpha, cfg.optimizer.eps) == (1e-3, 0.9, 1e-7)
    assert (cfg.data.batch_size, cfg.trainer.max_epochs) == (16, 10)
    assert cfg.data.val_split == 0 and cfg.model.reparameterization == "standard"


def test_top_level_settings_reach_the_groups(compose_train):
    cfg = compose_train("kl_weight=1e-3", "latent_dim=8", "digits=[0,6,9]", "seed=7")
    assert (cfg.model.latent_dim, cfg.objective.kl_weight) == (8, 1e-3)
    assert list(cfg.data.digits) == [0, 6, 9] and cfg.data.seed == 7
    model = instantiate(cfg.model)
    assert model.encoder.latent_dim == 8 and model.kl_weight == 1e-3


def test_paths_do_not_depend_on_the_working_directory(compose_train, tmp_path, monkeypatch):
    monkeypatch.delenv("VAE_EXP_OUTPUT_DIR", raising=False)
    monkeypatch.delenv("VAE_EXP_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    cfg = compose_train()
    assert cfg.paths.output_root == str(tmp_path / "outputs")
    assert cfg.paths.data_dir == str(tmp_path / "cache" / "vae-exp" / "data")
    monkeypatch.setenv("VAE_EXP_DATA_DIR", str(tmp_path / "elsewhere"))
    assert compose_train().data.data_dir == str(tmp_path / "elsewhere")


BAD_SETTINGS = [
    ("digits=[]", "digits"),
    ("digits=[1,10]", "digits"),
    ("digits=[-1,8]", "digits"),
    ("digits=[1,8,1]", "digits"),
    ("digits=7", "digits"),
    ("latent_dim=0", "latent_dim"),
    ("latent_dim=2.5", "latent_dim"),
    ("kl_weight=-1e-3", "kl_weight"),
    ("kl_weight=nan", "kl_weight"),
    ("kl_weight=inf", "kl_weight"),
    ("data.batch_size=0", "data.batch_size"),
    ("data.eval_batch_size=0", "data.eval_batch_size"),
    ("data.source=cloud", "data.source"),
    ("data.val_split=1.0", "data.val_split"),
    ("model.reparameterization=fancy", "model.reparameterization"),
    ("optimizer.lr=0", "optimizer.lr"),
]


@pytest.mark.parametrize(("override", "setting"), BAD_SETTINGS)
def test_bad_setting_is_named_with_its_value_and_what_is_allowed(compose_train, override, setting):
    cfg = compose_train(override)
    with pytest.raises(ConfigError) as raised:
        check_train_config(cfg)
    error = raised.value
    assert error.setting == setting
    assert str(error) == f"{setting}={error.value!r} is not allowed: {error.allowed}"
    given = OmegaConf.select(cfg, setting)
    assert error.value == (list(given) if OmegaConf.is_list(given) else given) or math.isnan(given)


def test_nan_is_shown_as_nan(compose_train):
    with pytest.raises(ConfigError, match=r"kl_weight=nan is not allowed: a finite number >= 0"):
        check_train_config(compose_train("kl_weight=nan"))
    assert math.isnan(compose_train("kl_weight=nan").kl_weight)


@pytest.mark.parametrize("option", [o for g, o in GROUP_OPTIONS if g == "data"])
def test_help_shows_the_settings_of_every_data_choice(option):
    from vae_exp.cli.help import help_text

    text = help_text("train", [f"data={option}"])
    assert "data.batch_size=" in text and "data.path=" in text
    if option == "image_folder":
        assert "data.channels=3" in text and "data.source=None" in text
