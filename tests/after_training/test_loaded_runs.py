"""Reading a trained run back, and the latent vectors exploration decodes, in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

import vae_exp
from vae_exp.exploration import latent_vector
from vae_exp.foundation.errors import ConfigError
from vae_exp.runs.checkpoints import load_vae, resolve_run

from conftest import TINY_RUN


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    from conftest import write_small_mnist

    root = tmp_path_factory.mktemp("trained")
    data_dir = write_small_mnist(root / "data")
    overrides = [f"paths.run_dir={root / 'run'}", f"data.data_dir={data_dir}", *TINY_RUN]
    vae_exp.fit(vae_exp.compose([*overrides, "logger=none"]))
    return root / "run"


def test_a_run_folder_resolves_to_its_best_checkpoint(run_dir):
    folder, checkpoint, _ = resolve_run(run_dir)
    assert folder == run_dir and checkpoint.name.startswith("epoch=00-val_loss=")
    assert load_vae(checkpoint).latent_dim == 4


@pytest.mark.parametrize("value", [["abc", 0, 0, 0], [0, 1, 0], [float("nan"), 0, 0, 0], "ones"])
def test_a_latent_vector_must_be_numbers(value):
    if value == "ones":
        assert latent_vector("z", value, 4).tolist() == [1.0] * 4
        return
    with pytest.raises(ConfigError, match=r"is not allowed: 4 numbers"):
        latent_vector("z", value, 4)


def test_evaluate_refuses_a_bad_split_before_loading(tmp_path):
    missing = tmp_path / "no_such_run"  # the split is refused before the run is looked for
    with pytest.raises(ConfigError, match="split='dev' is not allowed: one of auto, train, val"):
        vae_exp.evaluate(missing, split="dev", num_samples=5)
