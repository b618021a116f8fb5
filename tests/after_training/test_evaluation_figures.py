"""The evaluation's figures: probes, the run's own likelihood on binary images, sweeps."""

from __future__ import annotations

import csv
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import vae_exp
from vae_exp.analysis.probes import knn_accuracy, linear_probe_accuracy
from vae_exp.data.datamodule import MNISTDigitsDataModule
from vae_exp.models.likelihoods import ContinuousBernoulli

from conftest import TINY_RUN, train_tiny

NETWORKS = ("conv", "mlp")
LIKELIHOODS = ("bernoulli", "continuous_bernoulli", "gaussian")
OBJECTIVES = ("elbo", "iwae")


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
    _, run_dir = train_tiny(
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
    assert bool(((images == 0) | (images == 1)).all())  # the binary test draw
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
