"""Trained runs in a TensorBoard logdir, and the LATENT tab's routes asked in-process."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image
from tensorboard.plugins.base_plugin import TBContext
from werkzeug.test import Client

import vae_exp
from vae_exp.latent_tab.plugin import LatentPlugin

from conftest import TINY_RUN


def train_into(logdir: Path, name: str, data_dir: Path, *overrides: str) -> Path:
    """A tiny run in `logdir/runs/<name>`, trained through the Python API."""
    run_dir = logdir / "runs" / name
    cfg = vae_exp.compose(
        [f"paths.run_dir={run_dir}", f"paths.data_dir={data_dir}", *TINY_RUN, *overrides]
    )
    vae_exp.fit(cfg)
    return run_dir


def pixels(png: bytes) -> np.ndarray:
    """A PNG's pixels, as the browser shows them."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


class Routes:
    """The plugin's routes, called as TensorBoard calls them (WSGI), without a server."""

    def __init__(self, logdir: Path | str) -> None:
        self.plugin = LatentPlugin(TBContext(logdir=str(logdir)))
        self.apps = self.plugin.get_plugin_apps()

    def get(self, route: str, **query: object):
        response = Client(self.apps[route]).get(route, query_string=query)
        return response.status_code, response.get_data()

    def json(self, route: str, **query: object):
        status, body = self.get(route, **query)
        assert status == 200, body
        return json.loads(body)
