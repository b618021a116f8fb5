"""The data-module contract: what a module of your own must give, and the one-line refusals."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

import vae_exp
from vae_exp.data.contract import DataContractError, labelled_batches
from vae_exp.foundation.errors import ConfigError

TINY = (
    "trainer.max_epochs=1",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "logger=none",
)


def _fit_with(compose_train, target: str, *overrides: str) -> dict:
    cfg = compose_train(*TINY, *overrides)
    cfg.data = OmegaConf.create({"_target_": target})
    return vae_exp.fit(cfg)


@pytest.mark.parametrize(
    ("module", "refusal"),
    [
        ("ByteImages", r"must yield batches of images .* as float in \[0, 1\]"),
        ("UnscaledImages", r"its first batch's values lie in \[.*, 255\]"),
        ("FlatVectors", r"its first batch holds \(4, 784\)"),
        ("NotADataModule", "is not a LightningDataModule"),
    ],
)
def test_a_module_that_breaks_the_contract_is_refused_before_training(
    compose_train, tmp_path, module, refusal
):
    with pytest.raises(DataContractError, match=refusal):
        _fit_with(compose_train, f"helpers.contract_modules.{module}")
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_the_least_module_trains_with_images_alone(compose_train, tmp_path):
    record = _fit_with(compose_train, "helpers.contract_modules.GoodImages")
    assert record["status"] == "completed" and record["data_source"] is None
    run = vae_exp.load_run(tmp_path / "run")
    with torch.no_grad():
        assert run.model.decode(torch.zeros(2, 4)).shape == (2, 1, 20, 24)


def test_a_conditional_vae_needs_data_that_name_their_classes(compose_train):
    with pytest.raises(ConfigError, match="conditional=True is not allowed: false: GoodImages"):
        _fit_with(compose_train, "helpers.contract_modules.GoodImages", "conditional=true")


def test_batches_are_regrouped_to_the_size_asked_for_and_unlabelled_ones_count_as_class_0():
    loader = [torch.rand(3, 1, 2, 2), torch.rand(5, 1, 2, 2), torch.rand(1, 1, 2, 2)]
    sizes = [(len(x), y.tolist()) for x, y in labelled_batches(loader, 4)]
    assert sizes == [(4, [0] * 4), (4, [0] * 4), (1, [0])]
