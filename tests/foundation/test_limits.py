"""Counts, values and places that cannot work are refused before any work, in one line: picture
counts and batch sizes against the data and the memory, a sigma that would be clamped, output
folders that are files or read-only, names over the filesystem's limit; and what can be drawn
is drawn (a validation set of one image)."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from helpers.commands import run_tool

import vae_exp
from vae_exp.analysis.likelihood import importance_sampled_log_likelihood
from vae_exp.analysis.statistics import principal_components
from vae_exp.callbacks.interrupt import interrupted_when
from vae_exp.foundation import atomic
from vae_exp.foundation.errors import ConfigError
from vae_exp.foundation.resources import available_memory, require_decodable, require_picture

from conftest import TINY_RUN


def _refused(result: subprocess.CompletedProcess, *expected: str) -> str:
    output = result.stdout + (result.stderr or "")
    assert result.returncode == 2, output[-3000:]
    assert "Traceback" not in output
    (line,) = [line for line in output.splitlines() if line.startswith("error:")]
    for text in expected:
        assert text in line, line
    return line


@pytest.mark.parametrize(
    "override, setting",
    [
        ("callbacks.prior_samples.num_samples=10000000", "callbacks.prior_samples.num_samples"),
        ("callbacks.latent_grid.steps=100000", "callbacks.latent_grid.steps"),
        ("callbacks.latent_traversal.steps=100000", "callbacks.latent_traversal.steps"),
        ("data.batch_size=100000", "data.batch_size"),
    ],
)
def test_counts_beyond_what_the_run_can_do_are_refused_before_training(
    compose_train, small_mnist_dir, override, setting
):
    cfg = compose_train(f"data.data_dir={small_mnist_dir}", *TINY_RUN, override)
    with pytest.raises(ConfigError, match=rf"^{setting}=\d+ is not allowed: ") as refused:
        vae_exp.fit(cfg)
    assert not (Path(cfg.paths.run_dir) / "results.json").exists()
    message = str(refused.value)
    assert "smaller value" in message or "at most the training set's" in message


def test_the_batch_size_is_checked_against_the_training_set(compose_train, small_mnist_dir):
    cfg = compose_train(f"data.data_dir={small_mnist_dir}", *TINY_RUN, "data.batch_size=301")
    with pytest.raises(ConfigError, match=r"at most the training set's \d+ images"):
        vae_exp.fit(cfg)


def test_the_memory_estimate_grows_with_the_count_and_refuses_past_the_machine():
    image = (1, 28, 28)
    fits = available_memory() // (28 * 28 * 4 * 64) // 2
    require_decodable("n", fits, fits, image)  # half of what is available: allowed
    with pytest.raises(ConfigError, match=r"n=\d+ is not allowed: a smaller value: decoding"):
        require_decodable("n", fits * 4, fits * 4, image)
    with pytest.raises(ConfigError, match="pictures are at most 32768 pixels a side"):
        require_picture("steps", 2000, 1, 2000, image)
    require_picture("steps", 9, 9, 9, image)  # the reference grid


@pytest.mark.slow
def test_explore_checks_every_setting_before_drawing(trained_run, tmp_path):
    out = tmp_path / "pictures"
    result = run_tool(
        "explore",
        f"run={trained_run[0]}",
        "z=[0,0,0,0]",
        "traversal.dim=0",
        "traversal.steps=10000000",
        f"out={out}",
        cwd=tmp_path,
    )
    _refused(result, "traversal.steps=10000000 is not allowed: a smaller value")
    assert not out.exists() or not list(out.iterdir())  # z was not drawn either


def test_a_sigma_that_would_be_clamped_is_refused(compose_train):
    cfg = compose_train("likelihood=gaussian", "likelihood.sigma=1e-30")
    with pytest.raises(ConfigError, match=r"likelihood\.sigma=1e-30 is not allowed: a number in"):
        vae_exp.fit(cfg)
    from vae_exp.models.likelihoods import Gaussian

    assert Gaussian(sigma=1e-3).describe() == "Gaussian(sigma=0.001)"
    with pytest.raises(ConfigError, match=r"sigma=1000\.0 is not allowed"):
        Gaussian(sigma=1000.0)


def test_one_validation_image_still_draws_every_picture(compose_train, small_mnist_dir):
    cfg = compose_train(f"data.data_dir={small_mnist_dir}", *TINY_RUN, "data.val_split=1")
    record = vae_exp.fit(cfg)
    assert record["status"] == "completed"
    figures = Path(cfg.paths.run_dir) / "figures"
    assert (figures / "scatter.png").is_file() and (figures / "reconstructions.png").is_file()
    assert principal_components(torch.tensor([[1.0, 2.0, 3.0]])).tolist() == [[0.0, 0.0]]


class _Loop:
    def __init__(self, current_epoch: int, max_epochs: int) -> None:
        self.current_epoch, self.max_epochs = current_epoch, max_epochs


def test_an_interruption_names_the_epoch_or_the_final_pictures():
    assert interrupted_when(_Loop(0, 2)) == "in epoch 1"
    assert interrupted_when(_Loop(1, 2)) == "in epoch 2"
    assert interrupted_when(_Loop(2, 2)) == "while drawing the final pictures after epoch 2"


def test_the_estimate_streams_over_chunks_and_equals_the_one_pass_log_mean_exp():
    torch.manual_seed(0)
    x = torch.rand(3, 5)
    z_mean, log_var = torch.randn(3, 2), torch.randn(3, 2) * 0.1

    def log_likelihood(images: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return -(z.square().sum(-1)) - images.sum(-1, keepdim=True)

    streamed = importance_sampled_log_likelihood(
        x, z_mean, log_var, log_likelihood, 12, chunk=5, generator=torch.Generator().manual_seed(1)
    )
    # By hand: the same draws (chunks of 5, 5 and 2), every log-weight kept, one log-mean-exp.
    generator, weights = torch.Generator().manual_seed(1), []
    std = (0.5 * log_var).exp()
    for k in (5, 5, 2):
        z = z_mean[:, None] + std[:, None] * torch.randn((3, k, 2), generator=generator)
        prior = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
        posterior = torch.distributions.Normal(z_mean[:, None], std[:, None]).log_prob(z).sum(-1)
        weights.append(log_likelihood(x, z) + prior - posterior)
    by_hand = torch.logsumexp(torch.cat(weights, dim=1), dim=1) - math.log(12)
    torch.testing.assert_close(streamed, by_hand)


def test_a_name_near_the_limit_is_written_and_one_over_it_refused(tmp_path):
    name = "x" * 250 + ".json"  # 255 bytes: the longest name the filesystem takes
    assert len(atomic.temporary_name(name).encode()) <= 255
    atomic.write_text(tmp_path / name, "{}")
    assert (tmp_path / name).read_text() == "{}"
    from vae_exp.runs.locations import require_file_name

    with pytest.raises(ConfigError, match="a file name of at most 255 bytes"):
        require_file_name("out", tmp_path / ("y" * 256))


@pytest.mark.slow
def test_a_folder_under_a_file_is_refused_by_the_claim(tmp_path):
    from vae_exp.runs.claims import claim_folder

    blocker = tmp_path / "a_file"
    blocker.write_text("mine")
    with pytest.raises(ConfigError, match=r"^hydra\.run\.dir='.*' is not allowed: a folder, but"):
        claim_folder(blocker / "run", "hydra.run.dir")
    assert blocker.read_text() == "mine"


@pytest.mark.slow
def test_a_run_folder_under_a_file_is_refused_in_one_line(run_cli, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("mine")
    for folder in (blocker, blocker / "run"):
        result = run_cli(f"hydra.run.dir={folder}")
        _refused(result, f"hydra.run.dir='{folder}' is not allowed: a folder, but {blocker}")
    assert blocker.read_text() == "mine"


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """`folder` made read-only for real: a read-only bind mount as root, else its mode."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.slow
def test_a_read_only_run_folder_is_found_before_the_computation(trained_run, tmp_path):
    run_dir = tmp_path / "received"
    shutil.copytree(trained_run[0], run_dir)
    with _read_only(run_dir):
        for tool, args in (("evaluate", ["num_samples=2"]), ("explore", ["z=[0,0,0,0]"])):
            result = run_tool(tool, f"run={run_dir}", *args, cwd=tmp_path)
            line = _refused(result, "out=", "is not allowed: a folder you can write to")
            assert "Read-only file system" in line or "Permission denied" in line
            assert "-ELBO" not in result.stdout  # refused before evaluating
        written = run_tool(
            "explore", f"run={run_dir}", "z=[0,0,0,0]", f"out={tmp_path}", cwd=tmp_path
        )
        assert written.returncode == 0 and (tmp_path / "z_0_0_0_0.png").is_file()
