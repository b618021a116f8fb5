"""Keeps what an interrupted run had learned, and says how to go on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.utilities.exceptions import SIGTERMException

from vae_exp.runs.layout import CHECKPOINT_DIR, INTERRUPTED_CHECKPOINT

log = logging.getLogger(__name__)


class InterruptCheckpoint(pl.Callback):
    """On Ctrl-C or SIGTERM, saves `checkpoints/interrupted.ckpt` and prints the resume command.

    `python -m vae_exp.train resume=<run folder>` then continues the run from the
    last completed epoch (`last.ckpt`), which makes the resumed run equal to an
    uninterrupted one; `interrupted.ckpt` holds the weights of the moment of
    interruption, for `vae_exp.explore` or `vae_exp.evaluate`.
    """

    def __init__(self, filename: str = INTERRUPTED_CHECKPOINT) -> None:
        self.filename = filename

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if not isinstance(exception, (KeyboardInterrupt, SIGTERMException)):
            return
        run_dir = Path(trainer.default_root_dir)
        path = run_dir / CHECKPOINT_DIR / self.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        trainer.save_checkpoint(path)
        if trainer.is_global_zero:
            log.warning(
                "Interrupted %s: saved %s\nResume with: vae-exp-train resume=%s",
                interrupted_when(trainer),
                path,
                run_dir,
            )


def interrupted_when(trainer: pl.Trainer) -> str:
    """When the run stopped, as a user counts epochs (from 1).

    After the last epoch the loop's counter has moved past it, while the
    end-of-training pictures are drawn: that is not an epoch of its own.
    """
    epochs = trainer.max_epochs
    if epochs is not None and epochs >= 0 and trainer.current_epoch >= epochs:
        return f"while drawing the final pictures after epoch {epochs}"
    return f"in epoch {trainer.current_epoch + 1}"
