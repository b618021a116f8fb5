"""Keras "same" padding: which input pixels each output pixel reads."""

from __future__ import annotations

import pytest
import torch

from vae_exp.models.layers import Conv2dSame, ConvTranspose2dSame, same_padding


def _ones_conv(layer: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
    return layer


def _rows_reached(layer: torch.nn.Module, size: int, row: int) -> set[int]:
    """Output rows that an impulse at input (row, 0) reaches."""
    x = torch.zeros(1, 1, size, size)
    x[0, 0, row, 0] = 1.0
    with torch.no_grad():
        y = layer(x)[0, 0]
    return set(torch.nonzero(y.abs().sum(dim=1)).flatten().tolist())


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        (28, 3, 1, (1, 1)),
        (28, 3, 2, (0, 1)),
        (28, 2, 1, (0, 1)),
        (27, 3, 2, (1, 1)),
        (28, 4, 1, (1, 2)),
    ],
)
def test_same_padding_puts_the_odd_pixel_after(size, kernel, stride, expected):
    assert same_padding(size, kernel, stride) == expected


def test_stride_2_conv_reads_rows_2j_to_2j_plus_2():
    # Keras pads 0 rows on top and 1 at the bottom: output j reads input rows 2j, 2j+1, 2j+2.
    # (PyTorch's symmetric padding=1 would read 2j-1..2j+1.)
    layer = _ones_conv(Conv2dSame(1, 1, 3, stride=2))
    for row in range(28):
        assert _rows_reached(layer, 28, row) == {j for j in range(14) if 2 * j <= row <= 2 * j + 2}
    assert layer(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 14, 14)


def test_2x2_conv_reads_rows_i_and_i_plus_1():
    # The even kernel's one padding row goes at the bottom: output i reads rows i and i+1.
    layer = _ones_conv(Conv2dSame(1, 1, 2))
    for row in range(28):
        assert _rows_reached(layer, 28, row) == {i for i in (row - 1, row) if 0 <= i < 28}
    assert layer(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 28, 28)


def test_stride_2_transpose_is_the_transpose_of_the_stride_2_conv():
    # Input j of the transpose spreads to rows 2j..2j+2: exactly the rows that read it forwards.
    layer = _ones_conv(ConvTranspose2dSame(1, 1, 3, stride=2))
    for row in range(14):
        assert _rows_reached(layer, 14, row) == {
            r for r in (2 * row, 2 * row + 1, 2 * row + 2) if r < 28
        }
    assert layer(torch.zeros(2, 1, 14, 14)).shape == (2, 1, 28, 28)


def test_transpose_matches_the_gradient_of_the_forward_conv():
    torch.manual_seed(0)
    conv = Conv2dSame(1, 1, 3, stride=2)
    transpose = ConvTranspose2dSame(1, 1, 3, stride=2)
    with torch.no_grad():
        transpose.weight.copy_(conv.weight)
        transpose.bias.zero_()
    x = torch.randn(1, 1, 28, 28, requires_grad=True)
    g = torch.randn(1, 1, 14, 14)
    (conv(x) * g).sum().backward()
    torch.testing.assert_close(transpose(g), x.grad)
