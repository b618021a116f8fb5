"""Convolutions with Keras "same" padding.

PyTorch pads both sides equally; Keras (TensorFlow) puts an odd leftover pixel
at the bottom/right. That decides which input pixels each output reads for the
stride-2 and the even 2x2 kernels of the reference model. The layers here read
exactly the pixels Keras reads, and avoid copies where they can: a stride-1
convolution pads inside the convolution (cutting the one surplus output row and
column of an even kernel), and the transposed convolution runs as one ordinary
convolution whose outputs are its stride-by-stride phases (sub-pixel form)
where PyTorch's transposed kernel is slower: on a CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras "same" padding (before, after) of one spatial axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """`nn.Conv2d` whose output is ceil(input / stride), padded as Keras pads."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        # With stride 1 the padding is (k-1)//2 before and k//2 after whatever the input size:
        # the convolution pads k//2 on both sides itself and the surplus first row is cut.
        inside = kernel_size // 2 if stride == 1 else 0
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=inside)
        self.surplus = inside - (kernel_size - 1) // 2 if stride == 1 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding != (0, 0):
            y = super().forward(x)
            return y[..., self.surplus :, self.surplus :] if self.surplus else y
        (k_h, k_w), (s_h, s_w) = self.kernel_size, self.stride
        top, bottom = same_padding(x.shape[-2], k_h, s_h)
        left, right = same_padding(x.shape[-1], k_w, s_w)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


def phase_taps(kernel: int, stride: int, crop: int) -> tuple[torch.Tensor, int]:
    """Which kernel tap each phase of a transposed convolution uses, along one axis.

    Output position stride*m + a (after cutting `crop` leading positions) sums
    x[m + j] * w[tap] over the offsets j; the table holds, for each phase a and
    offset j - first, the tap, or `kernel` (a zero tap) where none applies.
    Returns the table (stride, offsets) and the first offset (<= 0).
    """
    pairs = [
        (a, (a + crop - tap) // stride, tap)
        for a in range(stride)
        for tap in range(kernel)
        if (a + crop - tap) % stride == 0
    ]
    first = min(j for _, j, _ in pairs)
    last = max(j for _, j, _ in pairs)
    table = torch.full((stride, last - first + 1), kernel, dtype=torch.long)
    for a, j, tap in pairs:
        table[a, j - first] = tap
    return table, first


class ConvTranspose2dSame(nn.ConvTranspose2d):
    """`nn.ConvTranspose2d` whose output is input * stride, cropped as Keras crops.

    It is the exact transpose of `Conv2dSame` with the same kernel and stride.
    The weights are those of `nn.ConvTranspose2d`. On a CPU it computes the
    sub-pixel form described in the module's docstring instead: in bfloat16
    PyTorch's transposed kernel takes three times as long here, and in
    float32 its forward pass takes 1.6 times as long (validation's cost).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0)
        # An output of input * stride pixels always gets the same padding, so one table serves
        # every input size. A buffer, not a cached tensor: tracing (`torch.export`, ONNX) would
        # leave its own fake tensors in a cache. Not saved with the weights.
        (k_h, k_w), (s_h, s_w) = self.kernel_size, self.stride
        crop = (same_padding(s_h, k_h, s_h)[0], same_padding(s_w, k_w, s_w)[0])
        taps, *self._offsets = sub_pixel_taps((k_h, k_w), (s_h, s_w), crop)
        self.register_buffer("sub_pixel_taps", torch.tensor(taps), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._sub_pixel(x) if x.device.type == "cpu" else self._transposed(x)

    def _transposed(self, x: torch.Tensor) -> torch.Tensor:
        (k_h, k_w), (s_h, s_w) = self.kernel_size, self.stride
        out_h, out_w = x.shape[-2] * s_h, x.shape[-1] * s_w
        top, left = same_padding(out_h, k_h, s_h)[0], same_padding(out_w, k_w, s_w)[0]
        # A kernel smaller than the stride leaves the last positions to the bias alone.
        short_h = max(0, top + out_h - ((x.shape[-2] - 1) * s_h + k_h))
        short_w = max(0, left + out_w - ((x.shape[-1] - 1) * s_w + k_w))
        y = F.conv_transpose2d(
            x, self.weight, self.bias, self.stride, output_padding=(short_h, short_w)
        )
        return y[..., top : top + out_h, left : left + out_w]

    def _sub_pixel(self, x: torch.Tensor) -> torch.Tensor:
        s_h, s_w = self.stride
        top, left, t_h, t_w = self._offsets
        # (in, out, (kh + 1) * (kw + 1)): the last tap of each row and column is zero.
        padded = F.pad(self.weight, (0, 1, 0, 1)).flatten(2)
        in_ch, out_ch = padded.shape[:2]
        weight = padded.index_select(2, self.sub_pixel_taps)
        weight = weight.reshape(in_ch, out_ch, s_h * s_w, t_h, t_w)
        # Phase-major output channels (a, b, c): each phase's channels lie together.
        weight = weight.permute(2, 1, 0, 3, 4).reshape(s_h * s_w * out_ch, in_ch, t_h, t_w)
        bias = None if self.bias is None else self.bias.repeat(s_h * s_w)
        # One copy to the layout and precision the convolution computes in.
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
        x = x.to(dtype=dtype, memory_format=torch.channels_last)
        padding = (-left, t_w - 1 + left, -top, t_h - 1 + top)
        phases = F.conv2d(F.pad(x, padding), weight, bias)
        return interleave_phases(phases, s_h, s_w)


def sub_pixel_taps(
    kernel: tuple[int, int], stride: tuple[int, int], crop: tuple[int, int]
) -> tuple[tuple[int, ...], int, int, int, int]:
    """The sub-pixel kernel's taps as indices into the flattened, zero-padded kernel.

    Index order: row phase, column phase, row offset, column offset. Returns
    the indices, the first row and column offsets and the offsets' counts.
    """
    rows, top = phase_taps(kernel[0], stride[0], crop[0])
    cols, left = phase_taps(kernel[1], stride[1], crop[1])
    flat = rows[:, None, :, None] * (kernel[1] + 1) + cols[None, :, None, :]
    return tuple(flat.flatten().tolist()), top, left, rows.shape[1], cols.shape[1]


def interleave_phases(phases: torch.Tensor, s_h: int, s_w: int) -> torch.Tensor:
    """(N, s_h*s_w*C, H, W), phase-major, -> (N, C, H*s_h, W*s_w) in channels-last layout.

    Output pixel (s_h*i + a, s_w*j + b) is pixel (i, j) of phase (a, b). In
    channels-last memory each move is a run of C contiguous values.
    """
    n, channels, h, w = phases.shape
    c = channels // (s_h * s_w)
    pixels = phases.permute(0, 2, 3, 1).reshape(n, h, w, s_h, s_w, c)
    pixels = pixels.permute(0, 1, 3, 2, 4, 5).reshape(n, h * s_h, w * s_w, c)
    return pixels.permute(0, 3, 1, 2)
