"""Convolutions with Keras "same" padding.

PyTorch pads both sides equally; Keras (TensorFlow) puts an odd leftover pixel
at the bottom/right. That decides which input pixels each output reads for the
stride-2 and the even 2x2 kernels of the reference model, so the layers here
pad explicitly instead of using `padding=`.
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
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (k_h, k_w), (s_h, s_w) = self.kernel_size, self.stride
        top, bottom = same_padding(x.shape[-2], k_h, s_h)
        left, right = same_padding(x.shape[-1], k_w, s_w)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


class ConvTranspose2dSame(nn.ConvTranspose2d):
    """`nn.ConvTranspose2d` whose output is input * stride, cropped as Keras crops.

    It is the exact transpose of `Conv2dSame` with the same kernel and stride:
    the full transposed output is cut back by that layer's padding.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        (k_h, k_w), (s_h, s_w) = self.kernel_size, self.stride
        out_h, out_w = x.shape[-2] * s_h, x.shape[-1] * s_w
        top, _ = same_padding(out_h, k_h, s_h)
        left, _ = same_padding(out_w, k_w, s_w)
        return y[..., top : top + out_h, left : left + out_w]
