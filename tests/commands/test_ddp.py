"""Multi-process training, simulated on the CPU: two processes on the gloo backend."""

from __future__ import annotations

import json

import pytest
import torch

from vae_exp.data import MNISTDigitsDataModule
from vae_exp.models.losses import kl_term
from vae_exp.runs.checkpoints import load_vae

from conftest import TINY_RUN

OTHER_CHOICES = ("network=mlp", "likelihood=gaussian", "conditional=true", "data.binarize=dynamic")


@pytest.mark.slow
@pytest.mark.parametrize("choices", [(), OTHER_CHOICES], ids=["reference", "other_choices"])
def test_ddp_spawn_writes_one_run_with_synchronised_metrics(
    run_cli, small_mnist_dir, tmp_path, choices
):
    overrides = [
        o for o in TINY_RUN if not o.startswith(("trainer.accelerator", "trainer.limit_val"))
    ]
    result = run_cli(
        *overrides, "trainer=ddp_sim", "data.source=full", *choices, data_dir=small_mnist_dir
    )
    assert result.returncode == 0, result.stdout
    runs = list((tmp_path / "outputs" / "runs").iterdir())
    assert len(runs) == 1  # one folder for both processes
    run_dir = runs[0]
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1  # one set of logs
    assert "GLOO" in result.stdout or "distributed_backend=gloo" in result.stdout
    record = json.loads((run_dir / "results.json").read_text())
    assert record["status"] == "completed"

    # Each process validated half of the 20 validation images. The KL term needs no sampling,
    # so the whole set's value, computed here, equals the logged one only if the two
    # processes' values were averaged.
    model = load_vae(run_dir / "checkpoints" / "last.ckpt")
    binarize = "dynamic" if "data.binarize=dynamic" in choices else "none"
    datamodule = MNISTDigitsDataModule(
        digits=[1, 8], data_dir=small_mnist_dir, source="full", binarize=binarize
    )
    datamodule.setup()
    with torch.no_grad():
        z_mean, z_log_var = model.encode(*datamodule.val_set.tensors)
        whole = kl_term(z_mean, z_log_var).mean().item()
        halves = [kl_term(z_mean[i::2], z_log_var[i::2]).mean().item() for i in (0, 1)]
    tolerance = 1e-5 * max(1.0, abs(whole))
    assert abs(halves[0] - halves[1]) > 20 * tolerance  # the halves differ: the check can tell
    assert abs(record["metrics"]["val/kl"] - whole) < tolerance
