"""Callbacks that hold a real training run at a chosen stage, so a test can fault it there.

Each writes a marker file when the run reaches its stage, then waits; the test
sends a real signal, fills the disk or removes a gate file to let it go on.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from vae_exp.callbacks.base import FigureCallback, Picture
from vae_exp.foundation.atomic import atomic_open
from vae_exp.runs.checkpoint_io import AtomicCheckpointIO

_PATIENCE_S = 120  # never hang a test run for ever


def _wait_for(gate: Path | None) -> None:
    deadline = time.monotonic() + _PATIENCE_S
    while time.monotonic() < deadline and (gate is None or gate.exists()):
        time.sleep(0.05)


class PauseAfterEpoch(pl.Callback):
    """Once `epoch` epochs are done and checkpointed, waits while `gate` exists.

    It waits at the start of the next epoch: Lightning writes an epoch's
    checkpoints in the last of that epoch's end hooks.
    """

    def __init__(self, marker: str, gate: str, epoch: int = 1) -> None:
        self.marker, self.gate, self.epoch = Path(marker), Path(gate), epoch

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            self.marker.write_text("paused")
            _wait_for(self.gate)


class SlowFinalPicture(FigureCallback):
    """The last picture of a run; the first time it is drawn at the end, it waits first."""

    def __init__(self, marker: str) -> None:
        super().__init__(every_n_epochs=0)
        self.marker = Path(marker)

    def render(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, final: bool
    ) -> dict[str, Picture]:
        if final and not self.marker.exists():
            self.marker.write_text("drawing")
            _wait_for(None)  # until the test interrupts the run
        return {"images/slow_final": torch.full((1, 8, 8), 0.5)}


class FailAfterEpoch(pl.Callback):
    """Raises an unexpected error after the first epoch, as a bug would."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        raise RuntimeError("a bug in a user's callback")


class StallingCheckpointIO(AtomicCheckpointIO):
    """Writes the second epoch's first checkpoint halfway through `atomic_open`, then waits."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = Path(marker)

    def save_checkpoint(self, checkpoint: dict, path: str | Path, storage_options=None) -> None:
        if checkpoint.get("epoch", 0) >= 1 and not self.marker.exists():
            buffer = io.BytesIO()
            torch.save(checkpoint, buffer)
            data = buffer.getvalue()
            with atomic_open(path, "wb") as handle:
                handle.write(data[: len(data) // 2])
                handle.flush()
                self.marker.write_text(str(path))
                _wait_for(None)  # until the test kills the run
        super().save_checkpoint(checkpoint, path, storage_options)


class HoldOneJob(pl.Callback):
    """In the sweep job whose `kl_weight` is `kl_weight`: writes its process id, then waits.

    The test kills that process by the id, as the out-of-memory killer would.
    """

    def __init__(self, marker: str, kl_weight: float) -> None:
        self.marker, self.kl_weight = Path(marker), kl_weight

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if pl_module.kl_weight == self.kl_weight:
            self.marker.write_text(str(os.getpid()))
            _wait_for(None)
