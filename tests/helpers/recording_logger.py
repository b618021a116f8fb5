"""A logger defined outside the package, with its adapter, as a user's own logger would be.

It writes `recorded.json` into its folder at the end: every scalar and, per
picture tag, the steps and array shapes its adapter received.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import Logger

from vae_exp.loggers.adapters import LoggerAdapter

RECORD = "recorded.json"


class Recording(LoggerAdapter):
    def log_pictures(self, logger, pictures, step, rgb) -> None:
        for tag in pictures:
            logger.pictures[tag].append({"step": step, "shape": list(rgb(tag).shape)})

    def viewing_line(self, entry, run_dir: str, output_root: str) -> str:
        return f"Recording:    {Path(entry.folder) / RECORD}"


class RecordingLogger(Logger):
    vae_exp_adapter = Recording()

    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.scalars: dict[str, list[float]] = defaultdict(list)
        self.pictures: dict[str, list[dict[str, Any]]] = defaultdict(list)

    @property
    def name(self) -> str:
        return "recording"

    @property
    def version(self) -> int:
        return 0

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        for key, value in metrics.items():
            self.scalars[key].append(float(value))

    def finalize(self, status: str) -> None:
        record = {"status": status, "scalars": self.scalars, "pictures": self.pictures}
        (self.folder / RECORD).write_text(json.dumps(record))


class NeedsAMissingPackage(Recording):
    needs = ("a_package_that_is_not_installed", "a-package-that-is-not-installed")


class RecordingLoggerOfAMissingPackage(RecordingLogger):
    vae_exp_adapter = NeedsAMissingPackage()
