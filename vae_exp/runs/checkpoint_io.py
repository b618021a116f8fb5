"""Lightning's checkpoint writer, made atomic in the checkpoint's own folder.

Lightning stages a checkpoint in the system's temporary folder and moves it
into place; when that folder is on another filesystem the move is a copy, and
a full disk then leaves a truncated checkpoint under its final name. This
writer stages it beside the target instead (see `vae_exp.foundation.atomic`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins import TorchCheckpointIO

from vae_exp.foundation import atomic


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint under a temporary name beside it, then renames it."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(path, buffer.getbuffer())
