"""The pure functions behind the latent-space pictures."""

from __future__ import annotations

import pytest
import torch

from vae_exp.analysis.figures import GAP_VALUE, latent_grid_figure, reconstruction_grid, tile_grid
from vae_exp.analysis.latent_vectors import (
    grid_vectors,
    traversal_rows,
    traversal_vectors,
    value_range,
)
from vae_exp.analysis.statistics import active_units, mean_kl_per_dimension, principal_components


def test_traversal_changes_only_the_traversed_coordinate():
    base = torch.tensor([1.0, 1.0, 1.0, 1.0])
    values = value_range(-2, 2, 8)
    vectors = traversal_vectors(base, 0, values)
    assert vectors.shape == (8, 4)
    torch.testing.assert_close(vectors[:, 0], values)
    assert torch.equal(vectors[:, 1:], torch.ones(8, 3))


def test_grid_top_left_is_low_x_high_y():
    base = torch.zeros(4)
    values = value_range(-2, 2, 9)
    vectors = grid_vectors(base, 1, 2, values, values).reshape(9, 9, 4)
    assert vectors[0, 0].tolist() == [0, -2, 2, 0]  # top left: dim 1 = -2, dim 2 = +2
    assert vectors[0, 8].tolist() == [0, 2, 2, 0]  # columns follow dim 1
    assert vectors[8, 0].tolist() == [0, -2, -2, 0]  # rows follow dim 2, high at the top
    assert (vectors[..., [0, 3]] == 0).all()


@pytest.mark.parametrize("dims", [(1, 4), (-1, 0)])
def test_out_of_range_dimension_is_refused(dims):
    with pytest.raises(ValueError, match="out of range"):
        grid_vectors(torch.zeros(4), *dims, value_range(-1, 1, 3), value_range(-1, 1, 3))


def _decoder_reading_only(dim: int):
    """A decoder whose image brightness is a function of z[dim] alone."""

    def decode(z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(z[:, dim]).reshape(-1, 1, 1, 1).expand(-1, 1, 28, 28)

    return decode


def test_traversal_with_a_decoder_that_reads_one_dimension_changes_only_that_row():
    decode = _decoder_reading_only(2)
    values = value_range(-2, 2, 8)
    images = decode(traversal_rows(torch.ones(4), range(4), values)).reshape(4, 8, 28 * 28)
    for row in range(4):
        varies = not torch.equal(images[row], images[row, :1].expand_as(images[row]))
        assert varies == (row == 2)


def test_tile_grid_size_and_gaps():
    images = torch.zeros(81, 1, 28, 28)
    grid = tile_grid(images, ncol=9)
    assert grid.shape == (1, 9 * 28 + 8, 9 * 28 + 8)  # 260 x 260: 28-pixel tiles, 1-pixel gaps
    assert torch.allclose(grid[0, 28, :], torch.tensor(GAP_VALUE))  # the first horizontal gap
    assert torch.allclose(grid[0, :, 28], torch.tensor(GAP_VALUE))
    assert grid[0, :28, :28].eq(0).all()  # no border around the tiles


def test_reconstruction_grid_puts_each_row_above_its_reconstruction():
    originals, reconstructions = torch.ones(12, 1, 28, 28), torch.zeros(12, 1, 28, 28)
    grid = reconstruction_grid(originals, reconstructions, ncol=8)
    assert grid.shape == (1, 4 * 28 + 3, 8 * 28 + 7)
    tile_rows = [grid[0, r * 29 : r * 29 + 28, :28].mean().item() for r in range(4)]
    assert tile_rows == [1.0, 0.0, 1.0, 0.0]


def test_latent_grid_figure_is_labelled_like_the_reference():
    values = value_range(-2, 2, 9)
    figure = latent_grid_figure(tile_grid(torch.zeros(81, 1, 28, 28), 9), values, values, 1, 2)
    ax = figure.axes[0]
    assert ax.get_xlabel() == "Latent dimension 1" and ax.get_ylabel() == "Latent dimension 2"
    assert ax.get_xticklabels()[0].get_text() == "-2"
    assert ax.get_yticklabels()[0].get_text() == "2"  # +2 at the top row
    assert ax.get_xticks()[0] == pytest.approx(13.5) and ax.get_xticks()[1] == pytest.approx(42.5)


def test_active_units_and_kl_per_dimension():
    torch.manual_seed(0)
    z_mean = torch.cat([torch.randn(500, 2), 0.01 * torch.randn(500, 2)], dim=1)
    assert active_units(z_mean) == 2
    kl = mean_kl_per_dimension(z_mean, torch.zeros(500, 4))
    assert kl[:2].min() > 0.3 and kl[2:].max() < 1e-3  # 0.5 * E[m^2] for unit variance


def test_principal_components_find_the_main_direction():
    torch.manual_seed(0)
    t = torch.randn(1000, 1)
    points = torch.cat([3 * t, 3 * t, 0.1 * torch.randn(1000, 2)], dim=1)
    projected = principal_components(points)
    assert projected.shape == (1000, 2)
    assert projected[:, 0].var() > 100 * projected[:, 1].var()
