"""`vae_exp.evaluate`: the figures of a trained run, on the run's own data module."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import vae_exp

from conftest import TINY_RUN


def _trained(run_dir: Path, data_dir: Path, *overrides: str) -> Path:
    settings = [f"paths.run_dir={run_dir}", f"data.data_dir={data_dir}", *TINY_RUN, *overrides]
    vae_exp.fit(vae_exp.compose([*settings, "logger=none", "callbacks=none"]))
    return run_dir


def test_evaluation_reads_the_runs_own_data_module(tmp_path, small_mnist_dir):
    run_dir = _trained(
        tmp_path / "run", small_mnist_dir, "data._target_=helpers.own_data.InvertedDigits"
    )
    own = vae_exp.evaluate(run_dir, num_samples=4, probes=False)

    config = run_dir / "config.yaml"
    saved = yaml.safe_load(config.read_text())
    saved["data"]["_target_"] = "vae_exp.data.MNISTDigitsDataModule"
    config.write_text(yaml.safe_dump(saved))
    plain = vae_exp.evaluate(run_dir, num_samples=4, probes=False)

    assert own["images"] == plain["images"] and own["split"] == plain["split"] == "test"
    # The encoder saw other images: inverted ones through the run's own module.
    assert own["kl_per_dimension"] != pytest.approx(plain["kl_per_dimension"], rel=1e-3)


def test_a_run_folder_that_names_a_function_as_its_data_is_refused(tmp_path, small_mnist_dir):
    run_dir = _trained(tmp_path / "run", small_mnist_dir)
    config = run_dir / "config.yaml"
    saved = yaml.safe_load(config.read_text())
    saved["data"] = {"_target_": "os.system", "command": f"touch {tmp_path / 'ran'}"}
    config.write_text(yaml.safe_dump(saved))
    with pytest.raises(vae_exp.UserError, match=r"data\._target_"):
        vae_exp.evaluate(run_dir, num_samples=2, probes=False)
    assert not (tmp_path / "ran").exists()
