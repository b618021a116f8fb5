"""Output that reads well where it goes: the progress bar in a terminal, only epoch lines in a
file or pipe (a real pseudo-terminal stands for the terminal)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

RUN = ("trainer.max_epochs=1", "trainer.limit_train_batches=30", "trainer.limit_val_batches=2")


def _env(tmp_path: Path, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "VAE_EXP_OUTPUT_DIR": str(tmp_path / "outputs"),
        "VAE_EXP_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.mark.slow
def test_piped_output_and_the_log_file_have_no_progress_bar(tmp_path, small_mnist_dir):
    result = subprocess.run(
        [sys.executable, "-m", "vae_exp.train", *RUN, "data.source=full"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(tmp_path, small_mnist_dir),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    for text in (result.stdout, result.stderr, (run_dir / "train.log").read_text()):
        assert "\r" not in text and "it/s]" not in text
    assert "Epoch 1/1" in result.stdout + result.stderr


@pytest.mark.slow
def test_a_terminal_gets_the_progress_bar(tmp_path, small_mnist_dir):
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    process = subprocess.Popen(
        [sys.executable, "-m", "vae_exp.train", *RUN, "data.source=full"],
        stdin=child,
        stdout=child,
        stderr=child,
        cwd=tmp_path,
        env=_env(tmp_path, small_mnist_dir),
    )
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed: the process has ended
            break
        if not chunk:
            break
        seen += chunk
    process.wait(timeout=60)
    os.close(main)
    assert process.returncode == 0, seen[-3000:]
    assert b"Epoch 0" in seen and b"it/s" in seen  # the bar, drawn in place
