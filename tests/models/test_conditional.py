"""A conditional VAE: drawn by class, refused where it cannot work."""

from __future__ import annotations

import pytest
import torch
from helpers.explore_settings import explore_settings

import vae_exp
from vae_exp.exploration import explore
from vae_exp.foundation.errors import ConfigError
from vae_exp.models.vae import VAE

from conftest import train_tiny


def test_a_conditional_vae_draws_each_class_and_the_one_asked_for(
    compose_train, small_mnist_dir, tmp_path
):
    _, run_dir = train_tiny(compose_train, small_mnist_dir, "conditional=true", "network=mlp")
    figures = {p.name for p in (run_dir / "figures").iterdir()}
    assert {"samples_1.png", "samples_8.png", "latent_traversal_1.png"} <= figures
    run = vae_exp.load_run(run_dir)
    assert run.model.conditional and run.model.classes == (1, 8)
    z = torch.randn(5, run.model.latent_dim)
    with torch.no_grad():
        assert not torch.allclose(run.model.decode(z, 1), run.model.decode(z, 8))
        with pytest.raises(ValueError, match=r"classes \[3\] are not among"):
            run.model.decode(z, 3)

    written = explore(explore_settings(run_dir, z=[0, 0, 0, 0], label=8, out=str(tmp_path)))
    assert [p.name for p in written] == ["z_0_0_0_0_label8.png"]
    with pytest.raises(ConfigError, match=r"label=None is not allowed: one of the run's classes"):
        explore(explore_settings(run_dir, z=[0, 0, 0, 0]))


def test_label_is_refused_for_a_run_that_is_not_conditional(compose_train, small_mnist_dir):
    _, run_dir = train_tiny(compose_train, small_mnist_dir, "network=mlp")
    with pytest.raises(ConfigError, match="label=8 is not allowed: null: the run is not"):
        explore(explore_settings(run_dir, z=[0, 0, 0, 0], label=8))


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
