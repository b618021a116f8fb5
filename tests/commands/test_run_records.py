"""Run records under real faults: two processes into one folder, copied and moved runs,
resuming a finished run, Ctrl-C at the end of training, SIGKILL mid-training, a really
full filesystem, a crash, divergence, and settings that used to fail late."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers.commands import wait_for

import vae_exp
from vae_exp.foundation.errors import ConfigError, DivergenceError

from conftest import CHECKOUT, TINY_RUN, ctrl_c_delivered

HELPERS = "helpers.fault_callbacks"


def _env(tmp_path: Path, data_dir: Path, output_root: Path | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "VAE_EXP_OUTPUT_DIR": str(output_root or tmp_path / "outputs"),
        "VAE_EXP_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(CHECKOUT / "tests"),  # the fault callbacks
        "PYTHONUNBUFFERED": "1",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }


def _train(tmp_path, data_dir, *args, output_root=None, background=False, tool="train"):
    command = [sys.executable, "-m", f"vae_exp.{tool}", *args]
    kwargs = dict(
        cwd=tmp_path,
        env=_env(tmp_path, data_dir, output_root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if background:
        return subprocess.Popen(command, preexec_fn=ctrl_c_delivered, **kwargs)
    return subprocess.run(command, timeout=300, **kwargs)


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file below `folder`, hidden ones included, with its size and mtime."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def _results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def _only_run(tmp_path: Path) -> Path:
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    return run_dir


@pytest.mark.slow
def test_two_runs_started_into_one_folder_never_share_it(tmp_path, small_mnist_dir):
    folder = tmp_path / "one_folder"
    runs = [
        _train(tmp_path, small_mnist_dir, f"hydra.run.dir={folder}", *TINY_RUN, background=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    codes = [run.returncode for run in runs]
    assert sorted(codes) == [0, 2], outputs
    refused = outputs[codes.index(2)]
    assert "hydra.run.dir=" in refused and "Traceback" not in refused
    checkpoints = sorted(p.name for p in (folder / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints and not any("-v1" in name for name in checkpoints)
    assert _results(folder)["status"] == "completed"

    # A third run aimed at the finished one is refused before it writes a byte there.
    before = _snapshot(folder)
    third = _train(tmp_path, small_mnist_dir, f"hydra.run.dir={folder}", *TINY_RUN)
    assert third.returncode == 2 and "already holds files" in third.stdout
    assert _snapshot(folder) == before


@pytest.mark.slow
def test_copied_and_moved_runs_resume_in_their_own_folder(tmp_path, small_mnist_dir):
    assert _train(tmp_path, small_mnist_dir, *TINY_RUN).returncode == 0
    original = _only_run(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    before = _snapshot(original)

    resumed = _train(tmp_path, small_mnist_dir, f"resume={copy}", "trainer.max_epochs=2")
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    record = _results(copy)
    assert (record["status"], record["epochs"]) == ("completed", 2)
    assert (copy / record["best_checkpoint"]).is_file()
    assert _snapshot(original) == before  # the original is untouched
    states = torch.load(copy / "checkpoints" / "last.ckpt", weights_only=True)["callbacks"]
    dirpaths = [s["dirpath"] for s in states.values() if isinstance(s, dict) and "dirpath" in s]
    assert dirpaths and all(d == str(copy / "checkpoints") for d in dirpaths)

    moved = tmp_path / "moved"
    original.rename(moved)
    resumed = _train(tmp_path, small_mnist_dir, f"resume={moved}", "trainer.max_epochs=2")
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert not original.exists() and _results(moved)["epochs"] == 2

    pictures = tmp_path / "pictures"
    explored = _train(
        tmp_path, small_mnist_dir, f"run={copy}", "z=[0,0,0,0]", f"out={pictures}", tool="explore"
    )
    assert explored.returncode == 0 and (pictures / "z_0_0_0_0.png").is_file()


@pytest.mark.slow
def test_resuming_a_finished_run_changes_nothing(tmp_path, small_mnist_dir):
    assert _train(tmp_path, small_mnist_dir, *TINY_RUN).returncode == 0
    run_dir = _only_run(tmp_path)
    before = _snapshot(run_dir)
    again = _train(tmp_path, small_mnist_dir, f"resume={run_dir}")
    assert again.returncode == 0 and "has finished all 1 epochs" in again.stdout
    assert _snapshot(run_dir) == before


@pytest.mark.slow
def test_ctrl_c_during_the_final_pictures_keeps_the_record_and_resume_draws_them(
    tmp_path, small_mnist_dir
):
    marker = tmp_path / "drawing"
    run = _train(
        tmp_path,
        small_mnist_dir,
        *TINY_RUN,
        "trainer.max_epochs=2",
        f"+callbacks.slow._target_={HELPERS}.SlowFinalPicture",
        f"+callbacks.slow.marker={marker}",
        background=True,
    )
    wait_for(marker, run)
    run.send_signal(signal.SIGINT)
    output = run.communicate(timeout=120)[0]
    assert run.returncode == 130, output[-3000:]
    assert "Interrupted while drawing the final pictures after epoch 2" in output
    run_dir = _only_run(tmp_path)
    interrupted = _results(run_dir)
    assert (interrupted["status"], interrupted["epochs"]) == ("interrupted", 2)
    assert math.isfinite(interrupted["metrics"]["val/loss"])
    assert not (run_dir / "figures" / "slow_final.png").exists()

    # The marker lies outside the run folder: the resuming command names it, so it is kept.
    slow = (
        f"+callbacks.slow._target_={HELPERS}.SlowFinalPicture",
        f"+callbacks.slow.marker={marker}",
    )
    resumed = _train(tmp_path, small_mnist_dir, f"resume={run_dir}", *slow)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    finished = _results(run_dir)
    assert (finished["status"], finished["epochs"]) == ("completed", 2)
    assert finished["metrics"]["val/loss"] == interrupted["metrics"]["val/loss"]
    assert (run_dir / "figures" / "slow_final.png").is_file()
    assert (run_dir / "figures" / "latent_grid_1_2.png").is_file()


def _pause(tmp_path: Path) -> tuple[str, ...]:
    """The settings of the callback that holds a run after its first epoch (see `_paused_run`).

    Its files lie outside the run folder, so a resuming command names them again to keep them.
    """
    return (
        f"+callbacks.pause._target_={HELPERS}.PauseAfterEpoch",
        f"+callbacks.pause.marker={tmp_path / 'paused'}",
        f"+callbacks.pause.gate={tmp_path / 'gate'}",
    )


def _paused_run(tmp_path, data_dir, *args, output_root=None) -> tuple[subprocess.Popen, Path]:
    """A run held after its first epoch (checkpoints written) until the gate file goes."""
    marker, gate = tmp_path / "paused", tmp_path / "gate"
    gate.write_text("hold")
    run = _train(
        tmp_path,
        data_dir,
        *TINY_RUN,
        *args,
        *_pause(tmp_path),
        output_root=output_root,
        background=True,
    )
    wait_for(marker, run)
    return run, gate


@pytest.mark.slow
def test_sigkill_mid_training_loses_nothing_that_was_saved(tmp_path, small_mnist_dir):
    run, gate = _paused_run(tmp_path, small_mnist_dir, "trainer.max_epochs=3")
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=60)
    run_dir = _only_run(tmp_path)
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
    assert not list((run_dir / "checkpoints").glob("*.tmp*"))  # nothing was being written

    gate.unlink()
    resumed = _train(tmp_path, small_mnist_dir, f"resume={run_dir}", *_pause(tmp_path))
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert (_results(run_dir)["status"], _results(run_dir)["epochs"]) == ("completed", 3)


@pytest.mark.slow
def test_sigkill_during_a_checkpoint_write_leaves_the_last_one_whole(tmp_path, small_mnist_dir):
    marker = tmp_path / "writing"
    plugin = f"{{_target_:{HELPERS}.StallingCheckpointIO,marker:{marker}}}"
    run = _train(
        tmp_path,
        small_mnist_dir,
        *TINY_RUN,
        "trainer.max_epochs=3",
        f"trainer.plugins=[{plugin}]",
        background=True,
    )
    wait_for(marker, run)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=60)
    run_dir = _only_run(tmp_path)
    half_written = Path(marker.read_text())
    assert not half_written.exists() or torch.load(half_written, weights_only=True)["epoch"] == 0
    leftovers = [p.name for p in (run_dir / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    assert leftovers and all(name.startswith(".") for name in leftovers)  # hidden, never picked
    for path in (run_dir / "checkpoints").glob("*.ckpt"):  # what has a checkpoint's name loads
        assert torch.load(path, weights_only=True)["epoch"] == 0

    # The plugin's marker lies outside the run folder: the resuming command names it again.
    resumed = _train(tmp_path, small_mnist_dir, f"resume={run_dir}", f"trainer.plugins=[{plugin}]")
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert (_results(run_dir)["status"], _results(run_dir)["epochs"]) == ("completed", 3)


def test_tools_skip_a_checkpoint_they_cannot_read(tmp_path, caplog):
    from vae_exp.models import VAE
    from vae_exp.runs.checkpoints import resolve_run

    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    good = folder / "epoch=00-val_loss=0.2000.ckpt"
    torch.save({"state_dict": VAE().state_dict(), "hyper_parameters": {}}, good)
    cut_short = folder / "epoch=01-val_loss=0.1000.ckpt"  # ranked first, but truncated
    cut_short.write_bytes(good.read_bytes()[:1000])
    _, chosen, _ = resolve_run(tmp_path / "run")
    assert chosen == good
    assert f"cannot read checkpoint {cut_short}" in caplog.text


@pytest.fixture
def small_filesystem(tmp_path):
    """A real 24 MB filesystem (tmpfs), which a test can fill; needs root."""
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(folder: Path) -> None:
    with open(folder / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * (1 << 16))
                handle.flush()
        except OSError:
            pass


@pytest.mark.slow
def test_a_full_disk_names_the_file_and_keeps_the_last_good_checkpoint(
    tmp_path, small_mnist_dir, small_filesystem
):
    run, gate = _paused_run(
        tmp_path,
        small_mnist_dir,
        "trainer.max_epochs=2",
        "logger=none",  # the checkpoint is then the first write to meet the full disk
        output_root=small_filesystem / "outputs",
    )
    _fill(small_filesystem)
    gate.unlink()
    output = run.communicate(timeout=180)[0]
    assert run.returncode == 2, output[-3000:]
    assert "no space left on the device for" in output and ".ckpt" in output
    assert "Traceback" not in output
    (run_dir,) = (small_filesystem / "outputs" / "runs").iterdir()
    checkpoints = sorted((run_dir / "checkpoints").iterdir())
    assert all(not p.name.endswith(".tmp") for p in checkpoints)
    for path in checkpoints:  # every checkpoint under a normal name is complete
        torch.load(path, weights_only=True)
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0

    pictures = tmp_path / "pictures"
    explored = _train(
        tmp_path,
        small_mnist_dir,
        f"run={run_dir}",
        "z=[0,0,0,0]",
        f"out={pictures}",
        tool="explore",
    )
    assert explored.returncode == 0, explored.stdout[-3000:]


@pytest.mark.slow
def test_an_unexpected_crash_is_recorded_with_its_traceback(tmp_path, small_mnist_dir):
    crashed = _train(
        tmp_path,
        small_mnist_dir,
        *TINY_RUN,
        f"+callbacks.boom._target_={HELPERS}.FailAfterEpoch",
    )
    assert crashed.returncode == 1
    run_dir = _only_run(tmp_path)
    record = _results(run_dir)
    assert record["status"] == "failed"
    assert record["error"] == "RuntimeError: a bug in a user's callback"
    assert "Traceback" in (run_dir / "train.log").read_text()


@pytest.mark.slow
def test_a_sweep_into_a_folder_holding_a_sweep_is_refused(tmp_path, small_mnist_dir):
    folder = tmp_path / "sweep"
    args = ("-m", f"hydra.sweep.dir={folder}", "kl_weight=1e-4,1e-3", *TINY_RUN)
    assert _train(tmp_path, small_mnist_dir, *args).returncode == 0
    before = _snapshot(folder)
    again = _train(tmp_path, small_mnist_dir, *args)
    assert again.returncode == 2 and "hydra.sweep.dir=" in again.stdout
    assert _snapshot(folder) == before


def test_divergence_stops_at_once_and_is_recorded(small_mnist_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = vae_exp.compose([f"data.data_dir={small_mnist_dir}", *TINY_RUN, "optimizer.lr=1e6"])
    with pytest.raises(DivergenceError, match=r"training diverged at step \d+ \(epoch 1\)"):
        vae_exp.fit(cfg)
    record = _results(_only_run(tmp_path))
    assert record["status"] == "failed" and "optimizer.lr" in record["error"]


LATE_FAILURES = [
    ("trainer.max_epochs=-2", "trainer.max_epochs=-2 is not allowed: an integer >= 1"),
    ("trainer.max_epochs=abc", "trainer.max_epochs='abc' is not allowed: an integer >= 1"),
    ("trainer.limit_train_batches=0", "trainer.limit_train_batches=0 is not allowed"),
    ("callbacks.latent_traversal.steps=0", "callbacks.latent_traversal.steps=0 is not allowed"),
    ("callbacks.latent_traversal.dims=[7]", "callbacks.latent_traversal.dims=[7] is not allowed"),
    ("callbacks.reconstructions.num_images=0", "callbacks.reconstructions.num_images=0 is not"),
    ("callbacks.latent_grid.grids=[[1,1]]", "callbacks.latent_grid.grids=[1, 1] is not allowed"),
    ("kl_weight=1e308", "kl_weight=1e+308 is not allowed: a finite number >= 0 and <= 1e+06"),
]


@pytest.mark.parametrize(("override", "message"), LATE_FAILURES)
def test_settings_are_checked_before_training(
    override, message, small_mnist_dir, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    cfg = vae_exp.compose([f"data.data_dir={small_mnist_dir}", *TINY_RUN, override])
    with pytest.raises(ConfigError) as refused:
        vae_exp.fit(cfg)
    assert message in str(refused.value)
    runs = tmp_path / "outputs" / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # no folder left behind


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_an_accelerator_this_machine_lacks_is_refused(small_mnist_dir, tmp_path):
    refused = _train(tmp_path, small_mnist_dir, "trainer=gpu")
    assert refused.returncode == 2 and "Traceback" not in refused.stdout
    assert "trainer.accelerator='gpu' is not allowed: one that this machine has" in refused.stdout
    assert not (tmp_path / "outputs").exists()


def test_an_output_root_that_is_a_file_is_refused(small_mnist_dir, tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VAE_EXP_OUTPUT_DIR", str(blocker / "outputs"))
    with pytest.raises(ConfigError, match=rf"paths.output_root=.*{blocker} is a file"):
        vae_exp.fit(vae_exp.compose([f"data.data_dir={small_mnist_dir}", *TINY_RUN]))
    assert blocker.read_text() == "not a folder"


def test_the_last_checkpoint_follows_every_epoch_after_the_best(compose_train, small_mnist_dir):
    # Monitoring the epoch number, lowest best, makes the first epoch the best for good.
    cfg = compose_train(
        f"data.data_dir={small_mnist_dir}",
        *TINY_RUN,
        "trainer.max_epochs=3",
        "callbacks.model_checkpoint.monitor=epoch",
        "callbacks.model_checkpoint.mode=min",
    )
    vae_exp.fit(cfg)
    folder = Path(cfg.paths.run_dir) / "checkpoints"
    (best,) = folder.glob("epoch=00-*.ckpt")
    last = torch.load(folder / "last.ckpt", weights_only=True)
    assert torch.load(best, weights_only=True)["global_step"] == 3
    # Lightning's own ModelCheckpoint would have left last.ckpt at the best epoch's step 3.
    assert (last["epoch"], last["global_step"]) == (2, 9)
