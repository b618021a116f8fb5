"""The progress bar, drawn only where someone watches it: in a terminal."""

from __future__ import annotations

import sys

import pytorch_lightning as pl
from pytorch_lightning.callbacks import TQDMProgressBar


class TerminalProgressBar(TQDMProgressBar):
    """Lightning's tqdm bar, switched off when standard output is not a terminal.

    Redirected to a file or a pipe (a cluster's job log, `> log.txt`), the bar
    would write a carriage-return line at every refresh; the one line per epoch
    (`vae_exp.callbacks.EpochLog`) says the same there. Takes every argument of
    `TQDMProgressBar`.
    """

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if not sys.stdout.isatty():
            self.disable()
        super().setup(trainer, pl_module, stage)
