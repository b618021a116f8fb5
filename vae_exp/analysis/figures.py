"""Pictures of a VAE's latent space: image tensors and matplotlib figures.

Pure functions (tensors in, an image tensor or a `matplotlib.figure.Figure`
out), free of Lightning, so that callbacks, command-line tools and tests share
them. Figures are built without pyplot, so nothing here touches global state.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib import colormaps
from matplotlib.figure import Figure
from torchvision.utils import make_grid

GAP_VALUE = 0.7  # the grey between tiles in the reference figure
DIGIT_COLOURS = colormaps["tab10"]


def tile_grid(images: torch.Tensor, ncol: int, gap: int = 1) -> torch.Tensor:
    """Tile images (N, C, H, W) into one (C, R*H + (R-1)*gap, K*W + (K-1)*gap) image.

    Tiles are separated by `gap` grey pixels, with no border around the whole;
    grey images stay one channel, colour images three.
    """
    grid = make_grid(images.detach().float().cpu(), nrow=ncol, padding=gap, pad_value=GAP_VALUE)
    if gap:
        grid = grid[:, gap:-gap, gap:-gap]
    return grid[: images.shape[1]]


def image_array(image: torch.Tensor) -> torch.Tensor:
    """An image (C, H, W) as matplotlib draws it: (H, W) for grey, (H, W, 3) for colour."""
    return image[0] if image.shape[0] == 1 else image.permute(1, 2, 0).clamp(0, 1)


def reconstruction_grid(
    originals: torch.Tensor, reconstructions: torch.Tensor, ncol: int
) -> torch.Tensor:
    """Rows of originals, each directly above the row of their reconstructions."""
    rows = []
    for start in range(0, len(originals), ncol):
        rows += [originals[start : start + ncol], reconstructions[start : start + ncol]]
    width = max(len(r) for r in rows)
    padded = [torch.cat([r, r.new_full((width - len(r), *r.shape[1:]), GAP_VALUE)]) for r in rows]
    return tile_grid(torch.cat(padded), ncol=width)


def _tick_labels(values: torch.Tensor) -> list[str]:
    return [f"{v:.2g}" for v in values.tolist()]


def latent_grid_figure(
    grid: torch.Tensor,
    values_x: torch.Tensor,
    values_y: torch.Tensor,
    dim_x: int,
    dim_y: int,
    gap: int = 1,
) -> Figure:
    """The tile grid of `vae_exp.latent.grid_vectors` with labelled axes.

    Columns follow `dim_x`, rows `dim_y` with the highest value at the top, and
    the ticks sit at the centres of the tiles.
    """
    height, width = grid.shape[-2:]
    tile_h = (height + gap) // len(values_y)
    tile_w = (width + gap) // len(values_x)
    size = max(4.0, min(10.0, width / 40))
    fig = Figure(figsize=(size, size * height / width + 0.6))
    ax = fig.add_subplot()
    ax.imshow(image_array(grid).numpy(), cmap="Greys_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([c * tile_w + (tile_w - gap) / 2 - 0.5 for c in range(len(values_x))])
    ax.set_xticklabels(_tick_labels(values_x))
    ax.set_yticks([r * tile_h + (tile_h - gap) / 2 - 0.5 for r in range(len(values_y))])
    ax.set_yticklabels(_tick_labels(values_y.flip(0)))
    ax.set_xlabel(f"Latent dimension {dim_x}")
    ax.set_ylabel(f"Latent dimension {dim_y}")
    fig.tight_layout()
    return fig


def latent_scatter_figure(
    points: torch.Tensor, labels: torch.Tensor, axis_names: Sequence[str]
) -> Figure:
    """A scatter of 2-D latent points (N, 2), coloured by digit, with a legend."""
    fig = Figure(figsize=(6, 5.5))
    ax = fig.add_subplot()
    for digit in sorted(set(labels.tolist())):
        chosen = labels == digit
        ax.scatter(
            *points[chosen].T.tolist(), s=4, alpha=0.6, color=DIGIT_COLOURS(digit), label=str(digit)
        )
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.legend(title="digit", markerscale=3, loc="best")
    fig.tight_layout()
    return fig
