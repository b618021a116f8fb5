"""One trained run as the LATENT tab shows it: sliders in KL order, decoded pictures, the map.

Everything here works on a `Run` read by the same safe loader as
`vae-exp-explore` (`weights_only` checkpoints, checked `_target_`s), and draws
its pictures with explore's own functions, so that the tab and the command
show the same pixels for the same vector.
"""

from __future__ import annotations

import functools
import io
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from vae_exp.analysis.figures import tile_grid
from vae_exp.analysis.latent_vectors import traversal_vectors, value_range
from vae_exp.analysis.statistics import mean_kl_per_dimension
from vae_exp.callbacks.base import write_png
from vae_exp.data.binarization import EVALUATION_SEED, binarized
from vae_exp.data.contract import (
    binarization,
    check_data_module,
    class_names,
    count_images,
    labelled_batches,
    split_loader,
)
from vae_exp.evaluation import run_data_module
from vae_exp.exploration import Drawing, drawn_class, drawn_picture, enlarged, latent_vector
from vae_exp.foundation.errors import ConfigError, UserError
from vae_exp.loggers.pictures import Picture
from vae_exp.models.metrics import kl_dim_name
from vae_exp.runs.loaded_run import Run

MAP_POINTS = 1000  # validation images on the map: evenly spaced through the split
_MAP_BATCH = 256
_GAP = 8  # pixels between an image and its reconstruction


def png_bytes(picture: Picture) -> bytes:
    """A picture as PNG bytes, encoded as `vae-exp-explore` encodes its files."""
    buffer = io.BytesIO()
    write_png(picture, buffer)
    return buffer.getvalue()


@functools.cache  # read once: every traversal request uses it
def explore_defaults() -> DictConfig:
    """`vae-exp-explore`'s own settings (explore.yaml): the tab's traversal uses the same values."""
    return OmegaConf.load(files("vae_exp.conf").joinpath("explore.yaml"))


@dataclass(frozen=True)
class LatentMap:
    """The validation images on the map: where each lies, its posterior mean, class and picture."""

    points: torch.Tensor  # (N, 2)
    means: torch.Tensor  # (N, D)
    labels: torch.Tensor  # (N,)
    images: torch.Tensor  # (N, C, H, W), as the encoder saw them
    kl: torch.Tensor  # (D,) mean KL of each dimension over the validation split


class RunView:
    """A run's model, ready to decode what the tab asks; the map is computed on first use."""

    def __init__(self, name: str, run: Run) -> None:
        self.name = name
        self.run = run
        self.model = run.model
        self.latent_dim = int(run.model.latent_dim)
        with torch.no_grad():
            probe = self.model.decode(torch.zeros(1, self.latent_dim), self._any_class())
        self.image_shape = tuple(int(n) for n in probe.shape[1:])
        self._lock = threading.Lock()
        self._map: LatentMap | None = None
        self._map_error: str | None = None
        self._class_names: dict[int, str] = {
            c: str(c) for c in (self.model.classes if self.model.conditional else ())
        }

    def _any_class(self) -> int | None:
        return self.model.classes[0] if self.model.conditional else None

    # --- what the run list shows -------------------------------------------------------------

    def recorded_kl(self) -> list[float] | None:
        """Each dimension's KL at the run's last validation (`val/kl_dim/<i>`), if recorded."""
        metrics = (self.run.results or {}).get("metrics", {})
        values = [metrics.get(kl_dim_name(dim)) for dim in range(self.latent_dim)]
        if all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            return [float(v) for v in values]
        return None

    def kl(self) -> tuple[list[float] | None, str]:
        """Each dimension's KL and where it comes from: the run's record, or its validation data."""
        recorded = self.recorded_kl()
        if recorded is not None:
            return recorded, "recorded"
        latent_map = self.latent_map()
        if latent_map is None:
            return None, "unknown"
        return latent_map.kl.tolist(), "validation"

    def describe(self) -> dict[str, Any]:
        """The run as `/runs` lists it."""
        kl, kl_source = self.kl()
        order = sorted(range(self.latent_dim), key=lambda d: -kl[d]) if kl else []
        return {
            "run": self.name,
            "latent_dim": self.latent_dim,
            "image_shape": list(self.image_shape),
            "conditional": bool(self.model.conditional),
            # The classes a conditional run draws; any run's data classes are named by `/map`.
            "classes": list(self.model.classes) if self.model.conditional else None,
            "class_names": {str(c): n for c, n in self._class_names.items()},
            "slider_order": order or list(range(self.latent_dim)),
            "kl": kl,
            "kl_source": kl_source,
            "likelihood": type(self.model.likelihood).__name__,
            "checkpoint": self.run.checkpoint.name,
            "error": None,
        }

    # --- decoding ----------------------------------------------------------------------------

    def vector(self, values: Sequence[float]) -> torch.Tensor:
        """A latent vector from the tab's numbers, refused unless it has one per dimension."""
        return latent_vector("z", list(values), self.latent_dim)

    def label(self, value: int | None) -> int | None:
        """The class to draw: required for a conditional run, refused for any other."""
        return drawn_class(value, self.model)

    def decode_png(self, z: torch.Tensor, label: int | None) -> bytes:
        """The decoded image of `z`, drawn as `vae-exp-explore z=...` draws it."""
        with torch.no_grad():
            images = self.model.decode(z[None], label)
        return png_bytes(drawn_picture(images, Drawing(z[None], "z", "vector")))

    def traversal_png(self, z: torch.Tensor, dim: int, label: int | None) -> bytes:
        """`z` with dimension `dim` swept over explore's traversal values, as one strip."""
        if not 0 <= dim < self.latent_dim:
            raise ConfigError("dim", dim, f"a latent dimension, 0 .. {self.latent_dim - 1}")
        settings = explore_defaults().traversal
        values = value_range(float(settings.low), float(settings.high), int(settings.steps))
        vectors = traversal_vectors(z, dim, values)
        with torch.no_grad():
            images = self.model.decode(vectors, label)
        return png_bytes(drawn_picture(images, Drawing(vectors, "traversal", "traversal", values)))

    # --- the map -----------------------------------------------------------------------------

    def latent_map(self) -> LatentMap | None:
        """The validation images' posterior means (None, with `map_error`, if unreadable)."""
        with self._lock:
            if self._map is None and self._map_error is None:
                try:
                    self._map = self._encoded_validation_images()
                except Exception as error:  # the map's fault is its own; the sliders still work
                    self._map_error = (str(error).splitlines() or [type(error).__name__])[0]
            return self._map

    @property
    def map_error(self) -> str | None:
        return self._map_error

    def _encoded_validation_images(self) -> LatentMap:
        if self.run.config is None:
            raise UserError("the run has no config.yaml, so its data set is unknown")
        datamodule = run_data_module(self.run.config, self.run.folder)
        check_data_module(datamodule)
        self._class_names.update(class_names(datamodule))
        loader = split_loader(datamodule, "val")
        stride = max(1, math.ceil(count_images(loader) / MAP_POINTS))
        binary = binarization(datamodule) != "none"
        means, log_vars, labels, images = [], [], [], []
        start = 0
        with torch.no_grad():
            for batch_images, batch_labels in labelled_batches(loader, _MAP_BATCH):
                if binary:  # the encoder saw binary images in training
                    batch_images = binarized(batch_images, EVALUATION_SEED)
                _, z_mean, log_var = self.model.per_image_terms(batch_images, batch_labels)
                means.append(z_mean)
                log_vars.append(log_var)
                kept = torch.arange(len(batch_images)) + start
                kept = (kept % stride == 0).nonzero().flatten()
                labels.append(batch_labels[kept])
                images.append(batch_images[kept])
                start += len(batch_images)
        all_means, all_log_vars = torch.cat(means), torch.cat(log_vars)
        shown = torch.arange(0, len(all_means), stride)
        return LatentMap(
            points=principal_plane(all_means[shown]),
            means=all_means[shown],
            labels=torch.cat(labels),
            images=torch.cat(images),
            kl=mean_kl_per_dimension(all_means, all_log_vars),
        )

    def map_points(self, dims: tuple[int, int] | None) -> dict[str, Any]:
        """The map as `/map` sends it: axes, and each point's place, class and posterior mean."""
        latent_map = self.latent_map()
        if latent_map is None:
            return {"run": self.name, "error": self._map_error, "points": []}
        if dims is None and self.latent_dim == 2:
            dims = (0, 1)
        if dims is None:
            points, axes = latent_map.points, ["PC 1", "PC 2"]
        else:
            for dim in dims:
                if not 0 <= dim < self.latent_dim:
                    allowed = f"two latent dimensions, each 0 .. {self.latent_dim - 1}"
                    raise ConfigError("dims", list(dims), allowed)
            points, axes = latent_map.means[:, list(dims)], [f"z{dims[0]}", f"z{dims[1]}"]
        return {
            "run": self.name,
            "error": None,
            "axes": axes,
            "class_names": {str(c): n for c, n in self._class_names.items()},
            "points": [
                {"index": i, "x": x, "y": y, "label": int(label), "z": z}
                for i, ((x, y), label, z) in enumerate(
                    zip(
                        points.tolist(),
                        latent_map.labels.tolist(),
                        latent_map.means.tolist(),
                        strict=True,
                    )
                )
            ],
        }

    def pair_png(self, index: int) -> bytes:
        """A map point's image beside its reconstruction (the decoded posterior mean)."""
        latent_map = self.latent_map()
        if latent_map is None:
            raise UserError(f"the run's map is not available: {self._map_error}")
        if not 0 <= index < len(latent_map.images):
            raise ConfigError("index", index, f"a map point, 0 .. {len(latent_map.images) - 1}")
        label = int(latent_map.labels[index]) if self.model.conditional else None
        with torch.no_grad():
            reconstruction = self.model.decode(latent_map.means[index][None], label)[0]
        image = latent_map.images[index]
        pair = torch.stack([enlarged(image), enlarged(reconstruction.to(image.dtype))])
        return png_bytes(tile_grid(pair, ncol=2, gap=_GAP))


def principal_plane(means: torch.Tensor) -> torch.Tensor:
    """The posterior means on their first two principal axes (signs fixed, so maps repeat)."""
    centred = means - means.mean(dim=0)
    if means.shape[1] < 2 or len(means) < 2:
        return torch.nn.functional.pad(centred, (0, max(0, 2 - means.shape[1])))[:, :2]
    _, _, basis = torch.linalg.svd(centred, full_matrices=False)
    axes = basis[:2]
    signs = torch.sign(axes.gather(1, axes.abs().argmax(dim=1, keepdim=True)))
    return centred @ (axes * signs).T
