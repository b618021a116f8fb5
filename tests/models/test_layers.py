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


def _keras_same_reference(x: torch.Tensor, layer: torch.nn.Module) -> torch.Tensor:
    """Keras "same" the plain way: pad explicitly, or transpose fully and crop."""
    (k_h, k_w), (s_h, s_w) = layer.kernel_size, layer.stride
    if isinstance(layer, ConvTranspose2dSame):
        y = torch.nn.functional.conv_transpose2d(x, layer.weight, stride=(s_h, s_w))
        out_h, out_w = x.shape[-2] * s_h, x.shape[-1] * s_w
        # A kernel smaller than the stride leaves the last positions untouched (bias only).
        y = torch.nn.functional.pad(
            y, (0, max(0, out_w - y.shape[-1]), 0, max(0, out_h - y.shape[-2]))
        )
        top, left = same_padding(out_h, k_h, s_h)[0], same_padding(out_w, k_w, s_w)[0]
        return y[..., top : top + out_h, left : left + out_w] + layer.bias[:, None, None]
    top, bottom = same_padding(x.shape[-2], k_h, s_h)
    left, right = same_padding(x.shape[-1], k_w, s_w)
    padded = torch.nn.functional.pad(x, (left, right, top, bottom))
    return torch.nn.functional.conv2d(padded, layer.weight, layer.bias, stride=(s_h, s_w))


@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("size", [7, 8])
@pytest.mark.parametrize(
    ("layer_class", "form"),
    [
        (Conv2dSame, "forward"),
        (ConvTranspose2dSame, "_transposed"),
        (ConvTranspose2dSame, "_sub_pixel"),
    ],
)
def test_layers_compute_keras_same_for_any_kernel_stride_and_size(
    layer_class, form, size, stride, kernel
):
    # The layers take shortcuts (padding inside the convolution, the sub-pixel form of the
    # transpose); their results must equal the explicit pad-or-crop computation, gradients too.
    torch.manual_seed(kernel * 100 + stride * 10 + size)
    layer = layer_class(3, 2, kernel, stride=stride)
    x = torch.randn(2, 3, size, size + 1, requires_grad=True)
    y = getattr(layer, form)(x)
    expected = _keras_same_reference(x, layer)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(y)
    got = torch.autograd.grad(y, (x, layer.weight, layer.bias), grad)
    wanted = torch.autograd.grad(expected, (x, layer.weight, layer.bias), grad)
    for a, b in zip(got, wanted, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_transpose_takes_the_sub_pixel_form_on_a_cpu(monkeypatch):
    torch.manual_seed(0)
    layer = ConvTranspose2dSame(4, 2, 3, stride=2)
    x = torch.randn(2, 4, 7, 7)
    taken = []
    for form in ("_sub_pixel", "_transposed"):
        method = getattr(layer, form)
        monkeypatch.setattr(layer, form, lambda x, f=form, m=method: taken.append(f) or m(x))
    full = layer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        reduced = layer(x)
    assert taken == ["_sub_pixel", "_sub_pixel"]
    assert full.is_contiguous(memory_format=torch.channels_last)  # as the next layer reads it
    assert reduced.dtype == torch.bfloat16 and reduced.shape == (2, 2, 14, 14)
    torch.testing.assert_close(reduced.float(), full, rtol=0.05, atol=0.05)
    layer.to("meta")(x.to("meta"))  # elsewhere (a GPU, here shapes only): the transposed kernel
    assert taken[-1] == "_transposed"
