"""Decoding latent vectors of a trained run (the `vae-exp-explore run=<run> z=[0,1,0,0]` command).

Three pictures, each optional: one decoded vector (`z`), a traversal of one
dimension (`traversal.dim`), a grid over two dimensions (`grid.dims`). They are
written as PNG files (into the run's `figures/` unless `out=` says otherwise)
and their paths printed. Files are never overwritten: a name in use gets -2, -3...
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, ListConfig

from vae_exp.analysis.figures import latent_grid_figure, tile_grid
from vae_exp.analysis.latent_vectors import check_dims, grid_vectors, traversal_vectors, value_range
from vae_exp.callbacks.base import save_picture
from vae_exp.foundation.errors import ConfigError, UserError
from vae_exp.foundation.resources import require_picture
from vae_exp.foundation.values import require_int, require_number
from vae_exp.loggers.pictures import Picture
from vae_exp.models import VAE
from vae_exp.runs.checkpoints import load_vae, resolve_run
from vae_exp.runs.layout import FIGURES_DIR
from vae_exp.runs.locations import absolute, fresh_file, require_file_name, writable_folder

log = logging.getLogger(__name__)
_DRAWN_SIDE = 224  # a single image is drawn about this large: a 28-pixel digit 8 times


def latent_vector(
    setting: str, value: object, latent_dim: int, fill: str | None = None
) -> torch.Tensor:
    """A vector of the latent space from a list, or from `fill` (ones, zeros, a number)."""
    if isinstance(value, (list, tuple, ListConfig)):
        values = list(value)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if len(values) != latent_dim or not numbers or not all(map(math.isfinite, values)):
            raise ConfigError(
                setting,
                values,
                f"{latent_dim} numbers: the run's latent space has {latent_dim} dimensions",
            )
        return torch.tensor([float(v) for v in values])
    if value == "ones":
        return torch.ones(latent_dim)
    if value == "zeros":
        return torch.zeros(latent_dim)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and fill == "number":
        return torch.full((latent_dim,), float(value))
    allowed = f"a list of {latent_dim} numbers" + (
        ", ones or zeros" if fill != "number" else " or one number"
    )
    raise ConfigError(setting, value, allowed)


def _dims(setting: str, dims: Sequence[int], latent_dim: int) -> list[int]:
    try:
        check_dims(list(dims), latent_dim)
    except ValueError as error:
        raise ConfigError(setting, list(dims), str(error)) from None
    return [int(d) for d in dims]


def _values(prefix: str, settings: DictConfig) -> torch.Tensor:
    """The evenly spaced values of a traversal or grid, each setting checked."""
    return value_range(
        require_number(f"{prefix}.low", settings.low),
        require_number(f"{prefix}.high", settings.high),
        require_int(f"{prefix}.steps", settings.steps, minimum=1),
    )


@dataclass(frozen=True)
class Drawing:
    """One picture to draw: the latent vectors, how to lay them out, the file's name."""

    vectors: torch.Tensor
    name: str
    kind: str  # "vector", "traversal" or "grid"
    values: torch.Tensor | None = None
    dims: tuple[int, int] | None = None


def planned_drawings(cfg: DictConfig, latent_dim: int, image_shape: Sequence[int]) -> list[Drawing]:
    """Every picture `cfg` asks for, with every setting checked before anything is drawn."""
    drawings = []
    if cfg.z is not None:
        z = latent_vector("z", cfg.z, latent_dim, fill="none")
        name = "z_" + "_".join(f"{v:g}" for v in z.tolist())
        drawings.append(Drawing(z[None], name, "vector"))
    if cfg.traversal.dim is not None:
        (dim,) = _dims("traversal.dim", [cfg.traversal.dim], latent_dim)
        base = latent_vector("traversal.base", cfg.traversal.base, latent_dim)
        values = _values("traversal", cfg.traversal)
        require_picture("traversal.steps", len(values), 1, len(values), image_shape)
        vectors = traversal_vectors(base, dim, values)
        drawings.append(Drawing(vectors, f"traversal_dim{dim}", "traversal", values))
    if cfg.grid.dims is not None:
        if len(cfg.grid.dims) != 2:
            raise ConfigError("grid.dims", list(cfg.grid.dims), "two dimensions, e.g. [1,2]")
        i, j = _dims("grid.dims", cfg.grid.dims, latent_dim)
        if i == j:
            raise ConfigError("grid.dims", [i, j], "two different dimensions")
        base = latent_vector("grid.fixed", cfg.grid.fixed, latent_dim, fill="number")
        values = _values("grid", cfg.grid)
        require_picture("grid.steps", len(values), len(values), len(values), image_shape)
        vectors = grid_vectors(base, i, j, values, values)
        drawings.append(Drawing(vectors, f"grid_{i}_{j}", "grid", values, (i, j)))
    return drawings


def explore(cfg: DictConfig) -> list[Path]:
    """Draw what `cfg` asks for and return the paths of the PNG files written."""
    if cfg.z is None and cfg.traversal.dim is None and cfg.grid.dims is None:
        raise UserError(
            "nothing to draw: give z=[...] (one vector), traversal.dim=N (a traversal) "
            "or grid.dims=[i,j] (a grid), e.g. z=[0,1,0,0]"
        )
    run_dir, checkpoint, contents = resolve_run(cfg.run)
    model = load_vae(checkpoint, contents)
    label = drawn_class(cfg.get("label"), model)
    suffix = "" if label is None else f"_label{label}"
    with torch.no_grad():
        image_shape = tuple(model.decode(torch.zeros(1, model.latent_dim), label).shape[1:])
    drawings = planned_drawings(cfg, model.latent_dim, image_shape)
    out = writable_folder("out", Path(absolute(cfg.out)) if cfg.out else run_dir / FIGURES_DIR)
    paths = [fresh_file(out / f"{d.name}{suffix}.png") for d in drawings]
    for path in paths:
        require_file_name("out", path)
    written = []
    with torch.no_grad():
        for drawing, path in zip(drawings, paths, strict=True):
            save_picture(drawn_picture(model.decode(drawing.vectors, label), drawing), path)
            written.append(path)
    return written


def enlarged(image: torch.Tensor) -> torch.Tensor:
    """One image (C, H, W) drawn about 224 pixels large, each pixel a block: a digit 8 times."""
    zoom = max(1, round(_DRAWN_SIDE / max(image.shape[-2:])))
    return image.repeat_interleave(zoom, dim=-1).repeat_interleave(zoom, dim=-2)


def drawn_picture(images: torch.Tensor, drawing: Drawing) -> Picture:
    """A drawing's picture from its decoded images, as the command and the LATENT tab show it."""
    if drawing.kind == "vector":
        return enlarged(images[0])
    picture = tile_grid(images, ncol=len(drawing.values))
    if drawing.kind == "grid":
        return latent_grid_figure(picture, drawing.values, drawing.values, *drawing.dims)
    return picture


def drawn_class(label: object, model: VAE) -> int | None:
    """The class to draw: required for a conditional run, refused for any other."""
    if not model.conditional:
        if label is not None:
            allowed = "null: the run is not conditional (conditional=true trains one that is)"
            raise ConfigError("label", label, allowed)
        return None
    if label not in model.classes:
        allowed = f"one of the run's classes {list(model.classes)}: it is conditional"
        raise ConfigError("label", label, allowed)
    return int(label)
